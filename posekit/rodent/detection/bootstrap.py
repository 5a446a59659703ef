"""Bootstrapping rounds (LSTM self-supervision of rodent behaviour, Brattoli et al. 2017, sect. 3.1-3.2): the FCN
learns the animal from motion pseudo-labels (FCN_0), then from its own confident detections, which include frames
where the animal stood still (FCN_1, FCN_2...).

Each round keeps every motion label (they are the most reliable) and adds the previous detector's confident
top detections on the frames motion left unlabelled. Each clip also contributes one negative frame, an empty
arena: the median of its frames with every labelled animal box masked out.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import torch

from ...nets.rodent_fcn import RodentFCN
from .blobs import Blob
from .detector import Detector
from .training import train_round

CONFIDENT = 0.4  # a detection this sure becomes a label for the next round
NEGATIVE_SHARE = 0.05  # empty-arena frames per labelled frame (at least one per clip)


def fit(
    clips: list[np.ndarray],
    motion: list[list[list[Blob]]],
    *,
    rounds: int = 2,
    iters: int = 300,
    max_animals: int = 1,
    width: int = 16,
    device: str = "cpu",
    batch_size: int | None = None,
    seed: int = 0,
    after_round: Callable[[int, Detector], None] | None = None,
) -> Detector:
    """Train a detector on sampled work frames of some clips (``clips[i]``: (N, S, S) uint8) and their motion
    labels (``motion[i][n]``: the blobs of frame n). ``after_round(k, detector)`` sees FCN_k. Batches are 16
    frames on a CPU, 64 on CUDA (where a step costs little more)."""
    if not any(blobs for labels in motion for blobs in labels):
        raise ValueError("no frame with a moving animal to learn from")
    size = clips[0].shape[1]
    torch.manual_seed(seed)  # the initial weights too: the Runner seeds only what happens after it starts
    detector = Detector(RodentFCN(width), size, width, meta={"rounds": rounds, "labels_per_round": []})
    labels = motion
    batch_size = batch_size or (64 if device.startswith("cuda") else 16)
    for k in range(rounds + 1):
        if k:
            labels = [_next_labels(detector, frames, mine, max_animals, device) for frames, mine in zip(clips, motion)]
        frames, targets = _training_set(clips, labels)
        train_round(
            detector.net,
            frames,
            targets,
            iters=iters,
            device=device,
            batch_size=batch_size,
            seed=seed + k,
            name=f"FCN_{k}",
        )
        detector.meta["labels_per_round"].append(sum(1 for t in targets if t))
        if after_round is not None:
            after_round(k, detector)
    return detector


def _next_labels(detector, frames, motion, max_animals, device) -> list[list[Blob]]:
    """Motion labels where there are some, else the detector's confident detections."""
    found = detector.detect(frames, max_animals, device)
    return [mine or [b for b in dets[:max_animals] if b.score >= CONFIDENT] for mine, dets in zip(motion, found)]


def _training_set(clips, labels) -> tuple[list[np.ndarray], list[list[Blob]]]:
    frames, targets = [], []
    for clip, clip_labels in zip(clips, labels):
        kept = [n for n, blobs in enumerate(clip_labels) if blobs]
        frames += [clip[n] for n in kept]
        targets += [clip_labels[n] for n in kept]
        arena = empty_arena(clip, clip_labels)
        for _ in range(max(1, round(NEGATIVE_SHARE * len(kept)))):
            frames.append(arena)
            targets.append([])
    return frames, targets


def empty_arena(frames: np.ndarray, labels: list[list[Blob]]) -> np.ndarray:
    """Per-pixel median of the frames with each labelled animal's box (grown by half) masked out."""
    stack = frames.astype(np.float32)
    size = frames.shape[1]
    for n, blobs in enumerate(labels):
        for b in blobs:
            grow = 0.25 * (b.box[2:] - b.box[:2])
            x1, y1 = np.clip(np.floor(b.box[:2] - grow), 0, size).astype(int)
            x2, y2 = np.clip(np.ceil(b.box[2:] + grow), 0, size).astype(int)
            stack[n, y1:y2, x1:x2] = np.nan
    arena = np.nanmedian(stack, axis=0)
    # Pixels an animal covered in every frame: the plain median is the best left.
    missing = np.isnan(arena)
    arena[missing] = np.median(frames, axis=0)[missing]
    return arena.astype(np.uint8)
