"""Simulated pose experts: ground-truth 2D poses corrupted by errors of different kinds, seeded.

Each kind mimics a failure of real estimators (thesis ch. 3.3.2): Gaussian jitter of every joint, larger jitter
on occluded joints (top-down methods guess them), occluded joints missed (bottom-up methods drop them),
left/right swaps, whole persons missed (top-down detectors at low resolution), truncation at the image border and
single-frame flicker of a joint. Sizes are relative to the person: the diagonal of the box around the frame's
ground-truth joints. Missing estimates are NaN, as :func:`pose_refine.sst_aggregate` expects.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from pose_refine.errors import RefineError


@dataclass(frozen=True)
class ExpertErrors:
    """How one simulated expert errs; every rate is a probability per frame (persons) or per joint-frame."""

    jitter: float = 0.0  # Gaussian std of every joint, x person size
    occluded_jitter: float = 0.0  # extra Gaussian std of joints with visibility 0, x person size
    drop_occluded: float = 0.0  # probability that a joint with visibility 0 is missed
    swap_rate: float = 0.0  # probability that a left/right pair is swapped in a frame
    miss_person_rate: float = 0.0  # about this fraction of frames loses the whole person...
    miss_person_run: float = 1.0  # ...in runs of this mean length (frames)
    border: str | None = None  # joints outside the image (less border_margin): "nan" (missed) or "clamp"
    border_margin: float = 0.0  # fraction of the image width/height treated as outside on every side
    flicker_rate: float = 0.0  # probability that a joint jumps in a single frame...
    flicker_scale: float = 0.0  # ...by this distance x person size, in a random direction

    def __post_init__(self):
        if self.border not in (None, "nan", "clamp"):
            raise RefineError(f"ExpertErrors: border must be None, 'nan' or 'clamp', got {self.border!r}")
        if not 0 <= self.miss_person_rate < 1 or self.miss_person_run < 1:
            raise RefineError("ExpertErrors: miss_person_rate must be in [0, 1) and miss_person_run >= 1")


def simulate_experts(
    truth,
    experts: Sequence[ExpertErrors],
    *,
    joints: Sequence[str] | None = None,
    visibility=None,
    image_size=None,
    seed: int | np.random.SeedSequence = 0,
) -> np.ndarray:
    """(E, T, V, 2) estimates of ``truth`` (T, V, 2), one per expert, each with its own seeded stream; ``joints``
    names the V joints (the left/right swaps need them)."""
    root = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    streams = root.spawn(len(experts))
    return np.stack(
        [
            simulate_expert(truth, errors, joints=joints, visibility=visibility, image_size=image_size, seed=stream)
            for errors, stream in zip(experts, streams)
        ]
    )


def simulate_expert(
    truth, errors: ExpertErrors, *, joints: Sequence[str] | None = None, visibility=None, image_size=None, seed=0
) -> np.ndarray:
    """One expert's (T, V, 2) estimates of ``truth`` (T, V, 2); joint names (V,), visibility (T, V) and image_size
    (W, H) optional."""
    truth = np.asarray(truth, dtype=float)
    if truth.ndim != 3 or truth.shape[-1] != 2:
        raise RefineError(f"simulate_expert: truth must be (frames, joints, 2), got shape {truth.shape}")
    rng = np.random.default_rng(seed)
    n_frames, n_joints, _ = truth.shape
    occluded = np.zeros((n_frames, n_joints), bool) if visibility is None else np.asarray(visibility) == 0
    size = _person_size(truth)[:, None, None]  # (T, 1, 1)

    estimate = _swap_sides(truth, errors.swap_rate, joints, rng) if errors.swap_rate else truth.copy()
    std = errors.jitter + errors.occluded_jitter * occluded[..., None]
    estimate += rng.normal(size=estimate.shape) * std * size
    if errors.flicker_rate:
        jumps = rng.random((n_frames, n_joints)) < errors.flicker_rate
        angle = rng.uniform(0, 2 * np.pi, (n_frames, n_joints))
        offset = np.stack([np.cos(angle), np.sin(angle)], axis=-1) * errors.flicker_scale * size
        estimate += np.where(jumps[..., None], offset, 0)
    if errors.border:
        estimate = _truncate(estimate, errors, image_size)
    estimate[occluded & (rng.random((n_frames, n_joints)) < errors.drop_occluded)] = np.nan
    if errors.miss_person_rate:
        estimate[_missed_frames(n_frames, errors.miss_person_rate, errors.miss_person_run, rng)] = np.nan
    return estimate


def _person_size(truth):
    """(T,) diagonal of the box around each frame's ground-truth joints (NaN joints ignored, 0 if none)."""
    extent = np.fmax.reduce(truth, axis=1) - np.fmin.reduce(truth, axis=1)  # fmax/fmin skip NaN quietly
    return np.nan_to_num(np.hypot(extent[:, 0], extent[:, 1]))


def side_pairs(joints: Sequence[str]) -> list[tuple[int, int]]:
    """(left, right) index pairs of joint names, matched by the canonical ``left_``/``right_`` names."""
    joints = list(joints)
    return [
        (i, joints.index("right_" + name[5:]))
        for i, name in enumerate(joints)
        if name.startswith("left_") and "right_" + name[5:] in joints
    ]


def _swap_sides(truth, rate, joints, rng):
    if joints is None:
        raise RefineError("simulate_expert: swap_rate needs the joint names to know the left/right joints")
    if len(joints) != truth.shape[1]:
        raise RefineError(f"simulate_expert: {len(joints)} joint names for poses of {truth.shape[1]} joints")
    pairs = np.array(side_pairs(joints), dtype=int).reshape(-1, 2)
    left, right = pairs[:, 0], pairs[:, 1]
    swapped = rng.random((len(truth), len(pairs))) < rate  # (T, pairs)
    estimate = truth.copy()
    estimate[:, left] = np.where(swapped[..., None], truth[:, right], truth[:, left])
    estimate[:, right] = np.where(swapped[..., None], truth[:, left], truth[:, right])
    return estimate


def _truncate(estimate, errors, image_size):
    if image_size is None:
        raise RefineError("simulate_expert: border truncation needs image_size (width, height)")
    size = np.asarray(image_size, dtype=float)
    low, high = errors.border_margin * size, (1 - errors.border_margin) * size
    if errors.border == "clamp":
        return np.clip(estimate, low, high)
    outside = ((estimate < low) | (estimate > high)).any(axis=-1)
    estimate[outside] = np.nan
    return estimate


def _missed_frames(n_frames, rate, run, rng):
    """(T,) bool: runs of mean length ``run``; about ``rate`` of the frames are covered."""
    # Runs start at any frame with probability q; a frame escapes all runs with probability ~exp(-q run).
    start_rate = min(1.0, -np.log1p(-rate) / run)
    starts = np.flatnonzero(rng.random(n_frames) < start_rate)
    lengths = rng.geometric(1 / run, len(starts))
    cover = np.zeros(n_frames + 1, int)
    np.add.at(cover, starts, 1)
    np.add.at(cover, np.minimum(starts + lengths, n_frames), -1)
    return np.cumsum(cover[:-1]) > 0
