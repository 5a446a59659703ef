"""The numbers of ``posekit refine``'s quality report: how much SST-A kept, how confident, how each expert agreed.

Per video and overall: person-frames (frames where a written track has a fused joint), kept (C >= gamma),
discarded (C < gamma) and unscored (C undefined: no fused head or neck) counts, quantiles of C, and per expert
its coverage (the fraction of fused joints it estimated), how often SST-A selected its estimate (the first expert,
in expert order, whose estimate equals the fused joint: SST-A's own tie rule) and its mean distance to the fused
joint in head lengths (|fused head - fused neck|, eq. 3.4's D_normal). posekit.refine.report writes them down.
"""

from __future__ import annotations

import numpy as np

from pose_refine.ssta import Joint, joint_mean

QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
FINE_BINS = 10_000  # overall C quantiles to 1e-4 in constant memory, whatever the number of person-frames
PLOT_BINS = 50


class QualityReport:
    """Counts accumulated video by video: per video in :attr:`videos`, overall from :meth:`overall`, and the
    histogram of C in FINE_BINS bins over [0, 1]."""

    def __init__(self, experts: list[str], gamma: float):
        self.experts = list(experts)
        self.gamma = gamma
        self.videos: dict[str, dict] = {}
        self._counts = _empty_counts(len(experts))
        self.histogram = np.zeros(FINE_BINS, np.int64)

    def add(
        self, video_id: str, experts: list[str], poses, tracks, fused, confidence, *, head: Joint, neck: Joint
    ) -> dict:
        """Count one video's written tracks: ``poses[tracks]`` fused into ``fused`` with confidence C, where
        ``poses`` (P, E, T, V, 2) holds all the video's tracks as its ``experts`` estimated them."""
        counts, values = video_counts(poses[tracks], fused, confidence, head=head, neck=neck, gamma=self.gamma)
        counts["tracks"] = len(poses)
        into_all = np.array([self.experts.index(e) for e in experts], dtype=np.intp)
        for key, value in counts.items():
            if np.ndim(value):
                self._counts[key][into_all] += value  # a video lists each expert once
            else:
                self._counts[key] += value
        np.add.at(self.histogram, _fine_bin(values), 1)
        self.videos[video_id] = summary = _summary(
            counts, experts, np.quantile(values, QUANTILES) if len(values) else None
        )
        return summary

    def overall(self) -> dict:
        return {"videos": len(self.videos), **_summary(self._counts, self.experts, self._histogram_quantiles())}

    def _histogram_quantiles(self):
        total = self.histogram.sum()
        if not total:
            return None
        cumulative = np.cumsum(self.histogram)
        # Upper edge of the bin where the cumulative count reaches q of all values.
        return (np.searchsorted(cumulative, np.asarray(QUANTILES) * total) + 1) / FINE_BINS


def video_counts(poses, fused, confidence, *, head: Joint, neck: Joint, gamma: float):
    """Counts of one video's tracks: poses (P, E, T, V, 2), fused (P, T, V, 2), C (P, T); and its scored C values."""
    present = ~np.isnan(fused[..., 0]).all(axis=-1)  # (P, T)
    scored = present & ~np.isnan(confidence)
    values = confidence[scored]
    fused_joint = ~np.isnan(fused[..., 0])  # (P, T, V)
    estimated = ~np.isnan(poses[..., 0]) & fused_joint[:, None]  # (P, E, T, V)
    equal = (poses == fused[:, None]).all(axis=-1)  # NaN never equals: only real estimates are selected
    selected = equal.argmax(axis=1)[equal.any(axis=1)]  # the first equal expert, as SST-A breaks ties
    head_length = np.hypot(*(joint_mean(fused, head, axis=2) - joint_mean(fused, neck, axis=2)).transpose(2, 0, 1))
    with np.errstate(divide="ignore", invalid="ignore"):
        distance = np.hypot(*(poses - fused[:, None]).transpose(4, 0, 1, 2, 3)) / head_length[:, None, :, None]
    measured = estimated & np.isfinite(distance)  # needs a fused head and neck apart
    n_experts = poses.shape[1]
    counts = {
        "tracks_kept": len(poses),
        "person_frames": int(present.sum()),
        "kept": int((values >= gamma).sum()),
        "discarded": int((values < gamma).sum()),
        "unscored": int((present & ~scored).sum()),
        "fused_joints": int(fused_joint.sum()),
        "estimates": estimated.sum(axis=(0, 2, 3)),
        "selected": np.bincount(selected, minlength=n_experts),
        "distance_sum": np.where(measured, distance, 0).sum(axis=(0, 2, 3)),
        "distance_count": measured.sum(axis=(0, 2, 3)),
    }
    return counts, values


def _empty_counts(n_experts):
    zeros = {
        key: np.zeros(n_experts, dtype)
        for key, dtype in (
            ("estimates", np.int64),
            ("selected", np.int64),
            ("distance_sum", float),
            ("distance_count", np.int64),
        )
    }
    return {
        "tracks": 0,
        "tracks_kept": 0,
        "person_frames": 0,
        "kept": 0,
        "discarded": 0,
        "unscored": 0,
        "fused_joints": 0,
        **zeros,
    }


def _summary(counts, experts, quantiles) -> dict:
    fused = max(counts["fused_joints"], 1)
    return {
        **{
            key: int(counts[key]) for key in ("tracks", "tracks_kept", "person_frames", "kept", "discarded", "unscored")
        },
        "kept_fraction": counts["kept"] / counts["person_frames"] if counts["person_frames"] else None,
        "confidence_quantiles": None
        if quantiles is None
        else {f"{q:g}": round(float(v), 4) for q, v in zip(QUANTILES, quantiles)},
        "experts": {
            name: {
                "coverage": counts["estimates"][e] / fused,
                "selected_fraction": counts["selected"][e] / fused,
                "mean_distance_to_fused": counts["distance_sum"][e] / counts["distance_count"][e]
                if counts["distance_count"][e]
                else None,
            }
            for e, name in enumerate(experts)
        },
    }


def _fine_bin(values):
    return np.clip((np.asarray(values) * FINE_BINS).astype(np.intp), 0, FINE_BINS - 1)


def confidence_bins(histogram, gamma: float):
    """The fine histogram of C summed into PLOT_BINS bins: (kept (C >= gamma), discarded (C < gamma)) counts."""
    lower_edges = np.arange(FINE_BINS) / FINE_BINS
    kept = np.where(lower_edges >= gamma, histogram, 0).reshape(PLOT_BINS, -1).sum(axis=1)
    discarded = np.where(lower_edges < gamma, histogram, 0).reshape(PLOT_BINS, -1).sum(axis=1)
    return kept, discarded
