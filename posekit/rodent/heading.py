"""Heading: which end of the body axis is the head.

The body axis (principal axis of the animal's foreground) has no sign. While the animal moves, the head is the
end it moves towards (centre velocity over ``window`` frames either side, at least ``min_speed`` body lengths
per second). Frames where it is still take the sign that keeps the axis continuous with the nearest oriented
frame before it (or after it, at the start of a clip). A clip where the animal never moves keeps an arbitrary
but continuous sign.
"""
from __future__ import annotations

import numpy as np


def orient(centres: np.ndarray, axes: np.ndarray, length: float, fps: float, window: int = 3,
           min_speed: float = 0.5) -> np.ndarray:
    """Sign-corrected unit axes (T, 2) pointing tail -> head; NaN rows (no detection) stay NaN."""
    axes = axes.astype(np.float32).copy()
    valid = ~np.isnan(centres).any(1)
    t = np.arange(len(centres))
    before, after = np.clip(t - window, 0, len(t) - 1), np.clip(t + window, 0, len(t) - 1)
    span = (after - before)[:, None]
    velocity = np.where(span > 0, (centres[after] - centres[before]) / np.maximum(span, 1), np.nan)
    speed = np.hypot(velocity[:, 0], velocity[:, 1]) * (fps if np.isfinite(fps) else 30.0) / length
    moving = valid & (speed >= min_speed)
    sign = np.zeros(len(t))
    sign[moving] = np.where((axes[moving] * velocity[moving]).sum(1) >= 0, 1.0, -1.0)
    if valid.any() and not moving.any():
        sign[np.argmax(valid)] = 1.0  # never moved: an arbitrary sign, carried on by continuity
    for order in (t, t[::-1]):  # forward continuity, then backward for frames before the first oriented one
        previous = None
        for i in order:
            if not valid[i]:
                continue
            if sign[i] == 0 and previous is not None:
                sign[i] = 1.0 if (axes[i] * previous).sum() >= 0 else -1.0
            if sign[i] != 0:
                previous = axes[i] * sign[i]
    out = axes * sign[:, None]
    out[~valid] = np.nan
    return out
