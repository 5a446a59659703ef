"""Cleaning keypoint tracks before kinematics: confidence filtering, gap filling, smoothing that respects gaps.

Arrays are time-major: axis 0 is the frame, every other axis (persons, joints, coordinates) is an independent
series. NaN marks a missing value, as in the store. No step invents data at the ends of a track or across a gap
it was not allowed to bridge: interpolation only fills interior gaps of at most ``max_gap`` frames, and the
smoothers run on each unbroken run of valid frames separately.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import median_filter
from scipy.signal import savgol_filter

SMOOTHERS = ("savgol", "median", "none")


def drop_low_confidence(keypoints: np.ndarray, scores: np.ndarray, min_confidence: float) -> np.ndarray:
    """A copy of ``keypoints`` (T, M, V, C) with every joint whose score is below ``min_confidence`` set missing.
    Unknown scores (NaN) keep their joint: no confidence is not low confidence."""
    out = np.array(keypoints, dtype=np.float32)
    out[np.asarray(scores) < min_confidence] = np.nan
    return out


def runs(valid: np.ndarray) -> list[tuple[int, int]]:
    """(start, stop) of each run of True in a 1-D boolean array."""
    edges = np.diff(np.concatenate(([0], valid.astype(np.int8), [0])))
    return list(zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)))


def fill_gaps(values: np.ndarray, max_gap: int) -> np.ndarray:
    """Linear interpolation over interior gaps of at most ``max_gap`` frames along axis 0; longer gaps and the
    missing frames before the first or after the last valid one stay NaN."""
    out = np.array(values, dtype=np.float64)
    if max_gap <= 0:
        return out.astype(np.float32)
    flat = out.reshape(len(out), -1)
    frames = np.arange(len(out))
    for column in flat.T:  # a view: filling it fills ``out``
        valid = ~np.isnan(column)
        if valid.sum() < 2:
            continue
        for start, stop in runs(~valid):
            if 0 < start and stop < len(column) and stop - start <= max_gap:
                gap = frames[start:stop]
                column[start:stop] = np.interp(gap, frames[valid], column[valid])
    return out.astype(np.float32)


def smooth(values: np.ndarray, method: str = "savgol", window: int = 7, polyorder: int = 2) -> np.ndarray:
    """Smooth along axis 0, each unbroken run of valid frames on its own (a gap is never smoothed across).

    ``savgol``: Savitzky-Golay fit of degree ``polyorder`` over ``window`` frames (exact on polynomials of that
    degree, edges included); ``median``: running median over ``window`` frames. A run shorter than the window is
    smoothed with the longest odd window it holds (left as it is when that is too short for the fit)."""
    if method not in SMOOTHERS:
        raise ValueError(f"unknown smoother {method!r}; choose one of {', '.join(SMOOTHERS)}")
    out = np.array(values, dtype=np.float64)
    if method == "none":
        return out.astype(np.float32)
    flat = out.reshape(len(out), -1)
    for column in flat.T:
        for start, stop in runs(~np.isnan(column)):
            size = min(window, stop - start)
            size -= 1 - size % 2  # odd, so the window is centred on its frame
            segment = column[start:stop]
            if method == "savgol" and size > polyorder:
                column[start:stop] = savgol_filter(segment, size, polyorder, mode="interp")
            elif method == "median" and size > 1:
                column[start:stop] = median_filter(segment, size=size, mode="nearest")
    return out.astype(np.float32)


def clean(
    keypoints: np.ndarray,
    scores: np.ndarray | None,
    *,
    min_confidence: float | None = None,
    max_gap: int = 0,
    smoother: str = "savgol",
    window: int = 7,
    polyorder: int = 2,
) -> tuple[np.ndarray, dict]:
    """Confidence filter, then gap filling, then smoothing of (T, M, V, C) keypoints; returns the cleaned
    keypoints and counts of joints (frame x person x joint) removed, filled and still missing."""
    kp = np.asarray(keypoints, np.float32)
    before = np.isnan(kp).any(-1)
    if min_confidence is not None and scores is not None:
        kp = drop_low_confidence(kp, scores, min_confidence)
    filtered = np.isnan(kp).any(-1)
    kp = fill_gaps(kp, max_gap)
    kp = smooth(kp, smoother, window, polyorder)
    after = np.isnan(kp).any(-1)
    return kp, {
        "removed": int((filtered & ~before).sum()),
        "filled": int((filtered & ~after).sum()),
        "missing": int(after.sum()),
        "total": int(after.size),
    }
