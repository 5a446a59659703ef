"""Procedural skeleton data, generated rather than downloaded: the demo's sample and synthetic stores for tests.

- The demo's sample (COCO-17, pixels), so ``posekit demo`` runs offline anywhere: four actions a skeleton model can
  tell apart only from motion (waving, squatting, jumping, walking), each clip varying in length, speed, size,
  position and per-joint noise, with some joints dropped as in estimated poses; plus a short video of a real photo
  and a DeepLabCut-style mouse CSV. Figures measured on it say nothing about real data.
- Synthetic clips and stores for benchmarks and tests (:func:`synthetic_clips`): plausible numbers, not plausible
  actions. Each clip is a COCO-17 template body in a 1920x1080 image that drifts smoothly, limbs swinging at a
  per-clip frequency, with pixel noise, a few missing joints and a second person in about half the clips. They are
  generated in large vectorised batches, so a 100,000-clip store takes about a minute.
"""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np

from .layouts import get_layout
from .store import Clip, SkeletonStore, StoreWriter

LAYOUT = "coco-17"  # of the demo's sample and of the synthetic clips

ACTIONS = ("wave", "squat", "jump", "walk")
IMAGE_SIZE = (640, 480)

# A standing person in COCO-17 order, in body units (y down, feet at 0, head at about -1.7).
_STAND = {
    "nose": (0.0, -1.62),
    "left_eye": (0.03, -1.65),
    "right_eye": (-0.03, -1.65),
    "left_ear": (0.07, -1.62),
    "right_ear": (-0.07, -1.62),
    "left_shoulder": (0.2, -1.4),
    "right_shoulder": (-0.2, -1.4),
    "left_elbow": (0.25, -1.1),
    "right_elbow": (-0.25, -1.1),
    "left_wrist": (0.27, -0.82),
    "right_wrist": (-0.27, -0.82),
    "left_hip": (0.12, -0.9),
    "right_hip": (-0.12, -0.9),
    "left_knee": (0.13, -0.48),
    "right_knee": (-0.13, -0.48),
    "left_ankle": (0.13, -0.05),
    "right_ankle": (-0.13, -0.05),
}


def _pose(layout):
    return np.array([_STAND[j] for j in layout.joints], np.float32)


def _action(name: str, phase: np.ndarray, layout) -> np.ndarray:
    """(T, V, 2) body-unit poses of one action cycle sampled at ``phase`` (radians)."""
    pose = np.repeat(_pose(layout)[None], len(phase), axis=0)
    idx = layout.index
    s, c = np.sin(phase), np.cos(phase)
    if name == "wave":  # right forearm up, swinging side to side
        pose[:, idx("right_elbow")] = [-0.4, -1.5]
        pose[:, idx("right_wrist"), 0] = -0.4 + 0.25 * s
        pose[:, idx("right_wrist"), 1] = -1.85 + 0.05 * c
    elif name == "squat":  # hips and everything above go down, knees forward
        depth = 0.45 * (1 - c) / 2
        upper = [idx(j) for j in _STAND if not j.endswith(("knee", "ankle"))]
        pose[:, upper, 1] += depth[:, None]
        for knee in ("left_knee", "right_knee"):
            pose[:, idx(knee), 1] += depth / 2
            pose[:, idx(knee), 0] += np.sign(_STAND[knee][0]) * depth / 2
    elif name == "jump":  # the whole body leaves the ground, arms up at the top
        height = np.clip(s, 0, None) * 0.5
        pose[:, :, 1] -= height[:, None]
        for wrist, elbow in (("left_wrist", "left_elbow"), ("right_wrist", "right_elbow")):
            pose[:, idx(wrist), 1] -= height * 1.4
            pose[:, idx(elbow), 1] -= height * 0.7
    elif name == "walk":  # legs and arms swing in opposition, body moves forward
        for side, sign in (("left", 1), ("right", -1)):
            pose[:, idx(f"{side}_ankle"), 0] += sign * 0.25 * s
            pose[:, idx(f"{side}_knee"), 0] += sign * 0.12 * s
            pose[:, idx(f"{side}_wrist"), 0] -= sign * 0.15 * s
        pose[:, :, 0] += (phase / (2 * np.pi) * 0.8)[:, None]
    else:
        raise ValueError(f"unknown action {name!r}; actions: {', '.join(ACTIONS)}")
    return pose


def make_clip(action: str, rng: np.random.Generator, layout_name: str = LAYOUT):
    """(keypoints (T, 1, V, 2) pixels, scores (T, 1, V)) for one clip of ``action``."""
    layout = get_layout(layout_name)
    frames = int(rng.integers(40, 90))
    cycles = rng.uniform(1.5, 3.0)
    phase = np.linspace(0, 2 * np.pi * cycles, frames) + rng.uniform(0, 2 * np.pi)
    body = _action(action, phase, layout)
    if rng.random() < 0.5:  # facing the other way
        body[..., 0] *= -1
    scale = rng.uniform(120, 200)
    origin = np.array([rng.uniform(200, 440), rng.uniform(380, 450)])
    keypoints = body * scale + origin + rng.normal(0, 2.0, body.shape)
    scores = rng.uniform(0.6, 1.0, body.shape[:2]).astype(np.float32)
    dropped = rng.random(body.shape[:2]) < 0.03  # estimators miss a few joints
    keypoints[dropped] = np.nan
    scores[dropped] = 0.0
    return keypoints[:, None].astype(np.float32), scores[:, None]


def make_sample(clips_per_action: int = 12, seed: int = 0):
    """Yield (clip id, action index, keypoints, scores) for a balanced sample of every action."""
    rng = np.random.default_rng(seed)
    for k in range(clips_per_action):
        for label, action in enumerate(ACTIONS):
            keypoints, scores = make_clip(action, rng)
            yield f"{action}_{k:03d}", label, keypoints, scores


def sample_split(clip_id: str) -> str:
    """ "test" for every 4th clip of each action (``wave_003``, ``wave_007``...), else "train"."""
    return "test" if int(clip_id.rsplit("_", 1)[1]) % 4 == 3 else "train"


def write_sample_video(path, frames: int = 12, fps: float = 10.0):
    """A short video of a real photograph of a person (matplotlib's bundled Grace Hopper portrait) drifting across
    the frame, so extraction and refinement run offline on something a pose estimator can see."""
    import cv2
    from matplotlib import cbook

    photo = cv2.imread(str(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)))
    height, width = photo.shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (width, height))
    for t in range(frames):  # a slow pan: 2 pixels right and 1 down per frame
        shift = np.float32([[1, 0, 2 * t - frames], [0, 1, t - frames / 2]])
        writer.write(cv2.warpAffine(photo, shift, (width, height), borderMode=cv2.BORDER_REPLICATE))
    writer.release()
    return path


MOUSE_PARTS = ("snout", "leftear", "rightear", "tailbase")  # DeepLabCut's open-field example project


def write_sample_mouse_csv(path, seconds: float = 20.0, fps: float = 30.0, seed: int = 0):
    """A DeepLabCut-style prediction CSV (3-row header, x/y/likelihood per body part) of a mouse that runs
    circles, pauses half-way and is sometimes mis-detected (jitter, low-likelihood frames), for the demo."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * fps)) / fps
    running = (t < seconds * 0.4) | (t > seconds * 0.6)  # a pause in the middle
    angle = np.cumsum(np.where(running, 1.2 / fps, 0.0))  # rad; about 22 cm/s on a 100 px circle
    centre = np.stack([320 + 100 * np.cos(angle), 240 + 100 * np.sin(angle)], axis=1)
    forward = np.stack([-np.sin(angle), np.cos(angle)], axis=1)  # direction of travel
    side = forward[:, ::-1] * (1, -1)
    offsets = {
        "snout": 18 * forward,
        "leftear": 8 * forward + 6 * side,
        "rightear": 8 * forward - 6 * side,
        "tailbase": -16 * forward,
    }
    columns, header = [], [["scorer"], ["bodyparts"], ["coords"]]
    for part in MOUSE_PARTS:
        xy = centre + offsets[part] + rng.normal(0, 1.5, centre.shape)
        likelihood = np.where(rng.random(len(t)) < 0.05, rng.uniform(0, 0.3, len(t)), rng.uniform(0.9, 1, len(t)))
        xy[likelihood < 0.3] += rng.normal(0, 40, (int((likelihood < 0.3).sum()), 2))  # a wrong detection
        columns += [xy[:, 0], xy[:, 1], likelihood]
        header[0] += ["DLC_demo"] * 3
        header[1] += [part] * 3
        header[2] += ["x", "y", "likelihood"]
    rows = [",".join(h) for h in header]
    rows += [",".join([str(i)] + [f"{c[i]:.3f}" for c in columns]) for i in range(len(t))]
    Path(path).write_text("\n".join(rows) + "\n")
    return path


# Synthetic clips and stores for benchmarks and tests.
SYNTHETIC_IMAGE_SIZE = (1920, 1080)
# COCO-17 standing pose, in body heights (x right, y down), origin at the hips' middle
_SYNTHETIC_TEMPLATE = np.array(
    [
        [0, -0.87],
        [-0.03, -0.9],
        [0.03, -0.9],
        [-0.07, -0.88],
        [0.07, -0.88],
        [-0.13, -0.7],
        [0.13, -0.7],
        [-0.17, -0.45],
        [0.17, -0.45],
        [-0.19, -0.22],
        [0.19, -0.22],
        [-0.09, 0],
        [0.09, 0],
        [-0.1, 0.25],
        [0.1, 0.25],
        [-0.1, 0.5],
        [0.1, 0.5],
    ],
    np.float32,
)
_SYNTHETIC_SWING = np.array([0, 0, 0, 0, 0, 0, 0, 1, -1, 2, -2, 0, 0, 0.5, -0.5, 1, -1], np.float32)  # limb amplitude


def synthetic_clips(
    num_clips: int,
    seed: int = 0,
    min_frames: int = 50,
    max_frames: int = 150,
    num_classes: int = 10,
    batch: int = 2000,
    start: int = 0,
):
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
        phase = np.sin(freq * t)[:, None, None] * _SYNTHETIC_SWING[None, None, :] * 0.05  # (F, 1, V)
        body = np.broadcast_to(_SYNTHETIC_TEMPLATE, (f, 2, 17, 2)).copy()
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
            yield Clip(
                id=f"clip{start + first + i:07d}",
                keypoints=kp[a:b],
                scores=scores[a:b],
                label=int(labels[i]),
                fps=30.0,
                image_size=SYNTHETIC_IMAGE_SIZE,
                source="synthetic",
                splits=("train",) if (start + first + i) % 5 else ("test",),
            )


def write_synthetic_store(
    path: str | Path,
    num_clips: int,
    seed: int = 0,
    chunk_frames: int = 128,
    compression: str | None = "lzf",
    reuse: bool = True,
) -> Path:
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
    with StoreWriter(
        path,
        layout=LAYOUT,
        coord_dims=2,
        classes=classes,
        name=path.stem,
        chunk_frames=chunk_frames,
        compression=compression,
        provenance={"step": "synthetic", "synthetic": params},
    ) as writer:
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
        annotations.append(
            {
                "frame_dir": clip.id,
                "label": clip.label,
                "img_shape": (h, w),
                "original_shape": (h, w),
                "total_frames": clip.num_frames,
                "keypoint": np.nan_to_num(clip.keypoints.transpose(1, 0, 2, 3), nan=0.0),
                "keypoint_score": np.ascontiguousarray(clip.scores.transpose(1, 0, 2)),
            }
        )
        split[clip.splits[0]].append(clip.id)
    with open(path, "wb") as f:
        pickle.dump({"split": split, "annotations": annotations}, f, protocol=pickle.HIGHEST_PROTOCOL)
    return path
