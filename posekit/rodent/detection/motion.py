"""Motion initialisation (LSTM self-supervision of rodent behaviour, Brattoli et al. 2017, sect. 3.1): pseudo-labels
of the moving animal from a background model and optical flow, on the frames where motion makes them reliable.

A frame gets a label when its largest foreground component (difference to the temporal-median background, on
brightness-normalised frames) is animal-sized and actually moves (Farneback flow inside it). Requiring motion
rejects the "ghosts" a median background leaves where the animal rested, and frames where a still animal has
become part of the background; a frame-wide flicker fails the size test. Frames without a label are left to
the appearance detector (:mod:`posekit.rodent.detection.bootstrap`). Seed 003 splits frames into a low-rank background
and sparse foreground (robust PCA); the temporal median is the rank-one case, far cheaper and enough for a
fixed camera.
"""

from __future__ import annotations

import cv2
import numpy as np

from .blobs import Blob, clean, components

MIN_CONTRAST = 12.0  # grey levels: weaker differences are sensor noise or shadows, not an animal
MIN_FLOW = 0.3  # work pixels per frame: median flow inside a blob that counts as moving
MAX_AREA = 0.15  # of the work square: a larger "blob" is a lighting change, not an animal


def normalise_brightness(frames: np.ndarray) -> np.ndarray:
    """Scale each frame to the clip's median mean brightness, so a lighting flicker is not foreground."""
    frames = frames.astype(np.float32)
    means = frames.mean(axis=(1, 2), keepdims=True)
    return frames * (np.median(means) / np.maximum(means, 1.0))


def background(frames: np.ndarray) -> np.ndarray:
    """Temporal median of brightness-normalised frames: the arena without the (moving) animal."""
    return np.median(frames, axis=0).astype(np.float32)


def flow_magnitude(previous: np.ndarray, current: np.ndarray) -> np.ndarray:
    """Per-pixel optical-flow speed (work pixels per frame) between two uint8 frames."""
    flow = cv2.calcOpticalFlowFarneback(previous, current, None, 0.5, 2, 9, 2, 5, 1.1, 0)
    return np.hypot(flow[..., 0], flow[..., 1])


def foreground(frame: np.ndarray, bg: np.ndarray) -> np.ndarray:
    """Pixels that differ from the background by more than noise (5 robust sigmas) and MIN_CONTRAST."""
    diff = np.abs(frame - bg)
    sigma = 1.4826 * np.median(np.abs(diff - np.median(diff)))
    return clean(diff > max(MIN_CONTRAST, 5 * sigma))


def motion_labels(frames: np.ndarray, speeds: np.ndarray, max_animals: int = 1, min_area: int = 8) -> list[list[Blob]]:
    """Pseudo-labels per frame (an empty list where motion is not reliable).

    ``frames`` (N, S, S) grey frames of one clip, ``speeds`` (N, S, S) flow magnitude into each frame."""
    norm = normalise_brightness(frames)
    bg = background(norm)
    size = frames.shape[1] * frames.shape[2]
    found = []
    for frame, speed in zip(norm, speeds):
        blobs = [
            b
            for b in components(foreground(frame, bg), min_area)[:max_animals]
            if b.mask.sum() <= MAX_AREA * size and np.median(speed[b.mask]) >= MIN_FLOW
        ]
        found.append(blobs)
    return _consistent(found)


def _consistent(found: list[list[Blob]]) -> list[list[Blob]]:
    """Drop blobs whose area is far from the typical one (two animals merged, a part of the body only)."""
    areas = [b.mask.sum() for blobs in found for b in blobs]
    if not areas:
        return found
    typical = np.median(areas)
    return [[b for b in blobs if 0.5 * typical <= b.mask.sum() <= 2 * typical] for blobs in found]
