"""Tracking: link per-frame candidate detections into at most ``max_animals`` tracks.

Each frame, active tracks are matched to candidates (Hungarian assignment, scipy) on distance in body lengths
plus (1 - confidence), within a gate that widens with the frames since a track was last seen; so among the
FCN's candidates the one continuing the trajectory wins (LSTM self-supervision of rodent behaviour, Brattoli et al.
2017, picks the smoothest of 5 candidates). A track unseen for ``max_gap`` frames frees its slot; a candidate of
confidence >= ``start`` may take a free slot.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment

from .blobs import Blob

GATE = 1.0  # body lengths an animal may move between consecutive frames...
GATE_PER_FRAME = 0.5  # ...plus this many per frame it went unseen


def body_length(candidates: list[list[Blob]], default: float) -> float:
    """Typical animal size: median longer box side of the best candidate of each frame."""
    sides = [float(max(blobs[0].box[2:] - blobs[0].box[:2])) for blobs in candidates if blobs]
    return float(np.median(sides)) if sides else default


def track(
    candidates: list[list[Blob]], max_animals: int, length: float, max_gap: int, start: float = 0.5
) -> list[list[Blob | None]]:
    """(T, max_animals) slots: the detection each track has in each frame, or None."""
    last: list[tuple[np.ndarray, int] | None] = [None] * max_animals  # (centre, frame) per slot
    out = []
    for t, blobs in enumerate(candidates):
        slots: list[Blob | None] = [None] * max_animals
        active = [s for s in range(max_animals) if last[s] is not None and t - last[s][1] <= max_gap]
        taken = set()
        if active and blobs:
            cost = np.array(
                [[np.linalg.norm(b.centre - last[s][0]) / length + 1 - b.score for b in blobs] for s in active]
            )
            gate = np.array([GATE + GATE_PER_FRAME * (t - last[s][1] - 1) for s in active])[:, None]
            allowed = cost - (1 - np.array([b.score for b in blobs]))[None] <= gate
            rows, cols = linear_sum_assignment(np.where(allowed, cost, 1e6))
            for r, c in zip(rows, cols):
                if allowed[r, c]:
                    slots[active[r]] = blobs[c]
                    taken.add(c)
        free = [s for s in range(max_animals) if s not in active]
        for c, b in enumerate(blobs):  # candidates come best first
            if not free:
                break
            if c not in taken and b.score >= start and all(_apart(b, o, length) for o in slots if o is not None):
                slots[free.pop(0)] = b
        for s, b in enumerate(slots):
            if b is not None:
                last[s] = (b.centre, t)
        out.append(slots)
    return out


def _apart(a: Blob, b: Blob, length: float) -> bool:
    """Two tracks never start on one animal: their centres are at least half a body length apart."""
    return bool(np.linalg.norm(a.centre - b.centre) >= 0.5 * length)
