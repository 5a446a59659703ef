"""SST-A: selective spatio-temporal aggregation of several experts' 2D poses (thesis ch. 3.3.2, eq. 3.1-3.4).

Joint level (eq. 3.1): at the first frame each joint takes the estimate of the closest pair of experts;
afterwards it takes the expert estimate nearest the joint fused at the previous frame, with D the Euclidean
distance of eq. 3.2. Body level (eq. 3.4): a frame's confidence is
``C = exp(-(1 / NM) * sum_V sum_K D(P_A(v), P_k(v)) / (D_normal + eps))`` with D_normal the distance between
the fused head and neck and eps = 1e-12; eq. 3.3 keeps the frames with ``C >= gamma``. The head and the neck are
each a joint index or a sequence of indices whose mean stands in for a joint the layout lacks (COCO's neck: the
mean of the fused shoulders); a missing one makes that point missing.

Rules where the thesis is silent (missing estimates are NaN):
- a missing estimate is never selected; a joint with one estimate takes it; with none it is NaN;
- a joint whose previous fused value is NaN restarts with the first-frame rule (closest pair);
- ties go to the first in expert order: the closest pair is the first (i, j), i < j, in lexicographic order
  and the fused joint is the estimate of expert i, "the first of the pair";
- the 1/NM average of eq. 3.4 runs over the available (joint, expert) estimates, so a missing estimate
  neither counts as an error nor dilutes the mean; C is NaN (and keep False) where the fused head or neck is NaN.

The selection at frame t depends on the past only through which expert was picked at t-1 (the fused joint *is*
that expert's estimate), so each frame acts as a map from the previous pick to the current one, on E+1 states
(an expert, or "none" for NaN). All the maps are computed vectorised over frames, persons and joints; the only
loop over time left is one gather per frame that follows the maps (:func:`_follow`).
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from pose_refine import GAMMA
from pose_refine.errors import RefineError

EPS = 1e-12  # eq. 3.4's offset against D_normal = 0
# Persons aggregated together: small enough that the intermediate arrays stay in the CPU cache (measured 1.3x
# faster than all 1,000 persons of tools/bench_ssta.py at once), large enough that NumPy's per-call cost vanishes.
BLOCK_PERSONS = 64

Joint = int | Sequence[int]  # one joint, or the joints whose mean stands in for it (a repeat weighs twice)


def sst_aggregate(poses, *, head: Joint, neck: Joint, gamma: float = GAMMA):
    """Fuse one person's poses (E, T, V, 2) from E >= 2 experts into (fused (T, V, 2), confidence (T,), keep (T,))."""
    poses = _as_float(poses)
    if poses.ndim != 4:
        raise RefineError(f"sst_aggregate: poses must be (experts, frames, joints, 2), got shape {poses.shape}")
    fused, confidence, keep = sst_aggregate_batch(poses[None], head=head, neck=neck, gamma=gamma)
    return fused[0], confidence[0], keep[0]


def sst_aggregate_batch(poses, *, head: Joint, neck: Joint, gamma: float = GAMMA, threads: int = 1):
    """:func:`sst_aggregate` for P tracked persons at once: poses (P, E, T, V, 2) -> (P, T, V, 2), (P, T), (P, T).

    Float32 input is computed in float32 (stores hold float32), anything else in float64. Persons are aggregated
    BLOCK_PERSONS at a time, on ``threads`` threads (NumPy releases the GIL in its array operations)."""
    poses = _as_float(poses)
    _check(poses, head, neck)
    n_persons, _, n_frames, n_joints, _ = poses.shape
    fused = np.empty((n_persons, n_frames, n_joints, 2), dtype=poses.dtype)
    confidence = np.empty((n_persons, n_frames), dtype=poses.dtype)

    def aggregate_block(start):
        block = slice(start, start + BLOCK_PERSONS)
        fused[block], confidence[block] = _aggregate(poses[block], head, neck)

    starts = range(0, n_persons, BLOCK_PERSONS)
    if threads > 1 and len(starts) > 1:
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(aggregate_block, starts))
    else:
        for start in starts:
            aggregate_block(start)
    return fused, confidence, confidence >= gamma  # NaN >= gamma is False: no head/neck, not kept


def _as_float(poses) -> np.ndarray:
    poses = np.asarray(poses)
    return poses if poses.dtype in (np.float32, np.float64) else poses.astype(np.float64)


def _aggregate(poses, head, neck):
    """Eq. 3.1-3.4 for a block of persons (P, E, T, V, 2) -> fused (P, T, V, 2), confidence (P, T)."""
    # Contiguous (E, T, P, V) planes per coordinate: every step below reads whole frames at a time.
    x, y = (np.ascontiguousarray(poses[..., c].transpose(1, 2, 0, 3)) for c in (0, 1))
    picks = _follow(_frame_maps(x, y, _first_frame_picks(x, y)))  # (T, P, V), E = none
    fused_x, fused_y = (np.choose(picks, [*plane, np.nan]) for plane in (x, y))
    confidence = _confidence(x, y, fused_x, fused_y, head, neck)
    return np.stack([fused_x, fused_y], axis=-1).transpose(1, 0, 2, 3), confidence


def _check(poses, head, neck):
    if poses.ndim != 5 or poses.shape[-1] != 2:
        raise RefineError(f"sst_aggregate: poses must be (persons, experts, frames, joints, 2), got {poses.shape}")
    if poses.shape[1] < 2:
        raise RefineError(f"sst_aggregate: needs at least 2 experts, got {poses.shape[1]}")
    n_joints = poses.shape[3]
    for name, joints in (("head", head), ("neck", neck)):
        indices = np.atleast_1d(joints)
        if not len(indices) or not ((0 <= indices) & (indices < n_joints)).all():
            raise RefineError(f"sst_aggregate: {name} index {joints} is outside the {n_joints} joints")
    if sorted(np.atleast_1d(head)) == sorted(np.atleast_1d(neck)):
        raise RefineError("sst_aggregate: head and neck must be different joints (D_normal would be 0)")


def _squared_distance(ax, ay, bx, by):
    """Eq. 3.2 squared (same argmin, no square root); NaN where either point is missing."""
    dx, dy = ax - bx, ay - by
    dx *= dx
    dy *= dy
    dx += dy
    return dx


def _first_minimum(distances):
    """Index of the first smallest of an iterable of NaN-for-missing arrays, and whether any is present."""
    distances = iter(distances)
    best = np.fmin(next(distances), np.inf)  # NaN -> inf
    pick = np.zeros(best.shape, dtype=np.intp)
    for k, distance in enumerate(distances, start=1):
        better = distance < best  # strict: ties keep the earlier one
        np.copyto(pick, k, where=better)
        np.copyto(best, distance, where=better)
    return pick, best < np.inf


def _first_frame_picks(x, y):
    """(T, P, V) expert chosen by eq. 3.1's t = 0 rule: first of the closest pair, the only estimate, or E if none."""
    n_experts = len(x)
    pairs = [(i, j) for i in range(n_experts) for j in range(i + 1, n_experts)]
    closest, paired = _first_minimum(_squared_distance(x[i], y[i], x[j], y[j]) for i, j in pairs)
    available = ~(np.isnan(x) | np.isnan(y))
    picks = np.where(paired, np.array([i for i, _ in pairs])[closest], available.argmax(axis=0))  # < 2: the one
    return np.where(available.any(axis=0), picks, n_experts)


def _frame_maps(x, y, first):
    """(T, E+1, P, V) map from the expert picked at t-1 (E: none) to the one picked at t (eq. 3.1, t > 0)."""
    n_experts, n_frames = x.shape[:2]
    maps = np.empty((n_frames, n_experts + 1) + x.shape[2:], dtype=np.intp)
    maps[0] = first[0]  # frame 0 ignores the past
    maps[1:, n_experts] = first[1:]  # no previous fused joint: restart with the first-frame rule
    for prev in range(n_experts):  # loops over experts only
        nearest, found = _first_minimum(
            _squared_distance(x[k, 1:], y[k, 1:], x[prev, :-1], y[prev, :-1]) for k in range(n_experts)
        )
        # Nothing found: no estimate now (-> none); a missing previous estimate is never a pick, so unreachable.
        maps[1:, prev] = np.where(found, nearest, n_experts)
    return maps


def _follow(maps):
    """(T, P, V) picks obtained by following the maps from frame 0: one flat gather per frame."""
    n_frames, n_states = maps.shape[:2]
    n_lanes = maps[0, 0].size
    lanes = np.arange(n_lanes)
    # Store each map's value as its flat index into the next frame's (states, lanes) table.
    table = (maps.reshape(n_frames, n_states, n_lanes) * n_lanes + lanes).reshape(n_frames, -1)
    index = np.empty((n_frames, n_lanes), dtype=np.intp)
    index[0] = table[0, :n_lanes]  # frame 0 is the same from every state
    for t in range(1, n_frames):
        np.take(table[t], index[t - 1], out=index[t])
    return (index // n_lanes).reshape(maps[:, 0].shape)


def _confidence(x, y, fused_x, fused_y, head, neck):
    """Eq. 3.4 per person and frame: (P, T); mean over the available (joint, expert) estimates."""
    gaps = np.sqrt(_squared_distance(x, y, fused_x, fused_y))  # (E, T, P, V), NaN where an expert has none
    count = (~np.isnan(gaps)).sum(axis=(0, 3))
    mean_gap = np.fmax(gaps, 0, out=gaps).sum(axis=(0, 3)) / count.clip(min=1)  # fmax(NaN, 0) = 0
    d_normal = np.hypot(
        joint_mean(fused_x, head, axis=2) - joint_mean(fused_x, neck, axis=2),
        joint_mean(fused_y, head, axis=2) - joint_mean(fused_y, neck, axis=2),
    )
    return np.exp(-mean_gap / (d_normal + EPS)).T


def joint_mean(values, joints: Joint, axis: int):
    """``values`` at one joint of ``axis``, or the mean over a sequence of joints (NaN if any of them is NaN)."""
    return np.take(values, np.atleast_1d(joints), axis=axis).mean(axis=axis)
