"""Synthetic skeleton clips and stores, for benchmarks and tests: plausible numbers, not plausible actions.

Each clip is a COCO-17 template body (pixel coordinates in a 1920x1080 image) that drifts smoothly, with limbs
swinging at a per-clip frequency, pixel noise, a few missing joints, and a second person in about half the clips.
Clips are generated in large vectorised batches, so a 100,000-clip store takes about a minute.
"""
from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np

from ..store import Clip, SkeletonStore, StoreWriter

LAYOUT = "coco-17"
IMAGE_SIZE = (1920, 1080)
# COCO-17 standing pose, in body heights (x right, y down), origin at the hips' middle
_TEMPLATE = np.array([[0, -.87], [-.03, -.9], [.03, -.9], [-.07, -.88], [.07, -.88], [-.13, -.7], [.13, -.7],
                      [-.17, -.45], [.17, -.45], [-.19, -.22], [.19, -.22], [-.09, 0], [.09, 0], [-.1, .25],
                      [.1, .25], [-.1, .5], [.1, .5]], np.float32)
_SWING = np.array([0, 0, 0, 0, 0, 0, 0, 1, -1, 2, -2, 0, 0, .5, -.5, 1, -1], np.float32)  # limb amplitude


def synthetic_clips(num_clips: int, seed: int = 0, min_frames: int = 50, max_frames: int = 150,
                    num_classes: int = 10, batch: int = 2000, start: int = 0):
    """Yield ``num_clips`` :class:`Clip` objects (M=2, V=17, C=2, with scores), deterministic for a seed."""
    rng = np.random.default_rng(seed)
    for first in range(0, num_clips, batch):
        n = min(batch, num_clips - first)
        lengths = rng.integers(min_frames, max_frames + 1, size=n)
        clip_of = np.repeat(np.arange(n), lengths)  # clip of each frame of the batch
        t = (np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)).astype(np.float32)
        f = clip_of.size
        height = rng.uniform(200, 600, size=(n, 2)).astype(np.float32)[clip_of]  # (F, 2) per person
        origin = rng.uniform([300, 500], [1600, 900], size=(n, 2, 2)).astype(np.float32)[clip_of]
        velocity = rng.normal(0, 2, size=(n, 2, 2)).astype(np.float32)[clip_of]
        freq = rng.uniform(0.05, 0.3, size=n).astype(np.float32)[clip_of]
        phase = np.sin(freq * t)[:, None, None] * _SWING[None, None, :] * 0.05  # (F, 1, V)
        body = np.broadcast_to(_TEMPLATE, (f, 2, 17, 2)).copy()
        body[..., 0] += phase
        kp = body * height[..., None, None] + origin[:, :, None, :] + velocity[:, :, None, :] * t[:, None, None, None]
        kp += 1.5 * rng.standard_normal(kp.shape, dtype=np.float32)
        scores = 0.3 + 0.7 * rng.random((f, 2, 17), dtype=np.float32)
        missing = rng.random((f, 2, 17), dtype=np.float32) < 0.05
        single = rng.random(n) < 0.5
        missing[:, 1] |= single[clip_of][:, None]
        kp[missing] = np.nan
        scores[missing] = 0
        labels = rng.integers(0, num_classes, size=n)
        bounds = np.concatenate([[0], np.cumsum(lengths)])
        for i in range(n):
            a, b = bounds[i], bounds[i + 1]
            yield Clip(id=f"clip{start + first + i:07d}", keypoints=kp[a:b], scores=scores[a:b], label=int(labels[i]),
                       fps=30.0, image_size=IMAGE_SIZE, source="synthetic",
                       splits=("train",) if (start + first + i) % 5 else ("test",))


def write_synthetic_store(path: str | Path, num_clips: int, seed: int = 0, chunk_frames: int = 128,
                          compression: str | None = "lzf", reuse: bool = True) -> Path:
    """Write a synthetic store at ``path``; with ``reuse``, keep an existing one written with the same parameters."""
    path = Path(path)
    params = {"num_clips": num_clips, "seed": seed, "chunk_frames": chunk_frames, "compression": compression}
    if reuse and path.is_file():
        try:
            steps = SkeletonStore(path).provenance
            if steps and steps[-1].get("synthetic") == params:
                return path
        except (OSError, ValueError, json.JSONDecodeError):  # unreadable or other file: write it again
            pass
    classes = [f"action_{k}" for k in range(10)]
    with StoreWriter(path, layout=LAYOUT, coord_dims=2, classes=classes, name=path.stem, chunk_frames=chunk_frames,
                     compression=compression, provenance={"step": "synthetic", "synthetic": params}) as writer:
        for clip in synthetic_clips(num_clips, seed=seed, num_classes=len(classes)):
            writer.add(clip)
    return path


def write_pyskl_pickle(path: str | Path, num_clips: int, seed: int = 0) -> Path:
    """The same clips as :func:`write_synthetic_store`, as a pyskl annotation pickle (the baseline it replaces):
    ``{"split": {name: [frame_dir...]}, "annotations": [{"frame_dir", "label", "img_shape", "original_shape",
    "total_frames", "keypoint" (M, T, V, C), "keypoint_score" (M, T, V)}]}``, missing joints as zeros."""
    path = Path(path)
    annotations, split = [], {"train": [], "test": []}
    for clip in synthetic_clips(num_clips, seed=seed):
        w, h = clip.image_size
        annotations.append({"frame_dir": clip.id, "label": clip.label, "img_shape": (h, w), "original_shape": (h, w),
                            "total_frames": clip.num_frames,
                            "keypoint": np.nan_to_num(clip.keypoints.transpose(1, 0, 2, 3), nan=0.0),
                            "keypoint_score": np.ascontiguousarray(clip.scores.transpose(1, 0, 2))})
        split[clip.splits[0]].append(clip.id)
    with open(path, "wb") as f:
        pickle.dump({"split": split, "annotations": annotations}, f, protocol=pickle.HIGHEST_PROTOCOL)
    return path
