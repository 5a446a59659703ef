"""Heading: which end of the body axis is the head.

The body axis (principal axis of the animal's foreground) has no sign. Consecutive detections are chained
into pieces whose axis turns smoothly (< 60 degrees between frames, no missing frame), each axis flipped to
agree with the one before, so a piece needs a single sign. That sign is the one under which the animal moves
head first: the vote of its moving frames (centre speed over ``window`` frames either side at least
``min_speed`` body lengths per second), each weighing by its speed along the axis. One vote per piece rather
than per frame keeps a jittery centre from flipping the head back and forth. A piece where the animal never
moves takes the sign that continues the piece before it (or after it, at the start of a clip); a clip where the
animal never moves keeps an arbitrary but continuous sign.
"""

from __future__ import annotations

import numpy as np

SMOOTH_TURN = 0.5  # |cos| of the axis change between consecutive frames that continuity can be trusted with


def orient(
    centres: np.ndarray, axes: np.ndarray, length: float, fps: float, window: int = 3, min_speed: float = 0.5
) -> np.ndarray:
    """Sign-corrected unit axes (T, 2) pointing tail -> head; NaN rows (no detection) stay NaN."""
    valid = ~np.isnan(centres).any(1)
    chained, piece = _chain(axes.astype(np.float32), valid)
    t = np.arange(len(centres))
    before, after = np.clip(t - window, 0, len(t) - 1), np.clip(t + window, 0, len(t) - 1)
    velocity = (centres[after] - centres[before]) / np.maximum(after - before, 1)[:, None]
    speed = np.hypot(velocity[:, 0], velocity[:, 1]) * (fps if np.isfinite(fps) else 30.0) / length
    moving = valid & (speed >= min_speed)  # NaN speed (a neighbour missing) is not moving
    pieces = piece.max() + 1
    vote = np.zeros(pieces)
    np.add.at(vote, piece[moving], (chained[moving] * velocity[moving]).sum(1))
    sign = np.sign(vote)
    first = [np.flatnonzero(piece == p)[0] for p in range(pieces)]
    last = [np.flatnonzero(piece == p)[-1] for p in range(pieces)]
    if pieces and not sign.any():
        sign[0] = 1.0  # never moved: an arbitrary sign, carried on by continuity
    for order in (range(1, pieces), range(pieces - 2, -1, -1)):  # continue forwards, then backwards
        for p in order:
            q = p - 1 if order.step == 1 else p + 1
            if sign[p] == 0 and sign[q] != 0:
                ends = (chained[first[p]], chained[last[q]]) if q < p else (chained[last[p]], chained[first[q]])
                sign[p] = sign[q] * (1.0 if ends[0] @ ends[1] >= 0 else -1.0)
    out = np.full_like(chained, np.nan)
    out[valid] = chained[valid] * sign[piece[valid]][:, None]
    return out


def _chain(axes: np.ndarray, valid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Axes flipped to agree with their predecessor, and the piece index of each frame (-1: no detection)."""
    chained = axes.copy()
    piece = np.full(len(axes), -1)
    current, previous = -1, None
    for i in np.flatnonzero(valid):
        if previous is None or i - previous[0] > 1 or abs(axes[i] @ previous[1]) < SMOOTH_TURN:
            current += 1
        elif axes[i] @ previous[1] < 0:
            chained[i] = -axes[i]
        piece[i] = current
        previous = (i, chained[i])
    return chained, piece
