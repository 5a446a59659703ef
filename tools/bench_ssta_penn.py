"""Thesis Table 3.1 on Penn Action ground truth: simulated experts vs SST-A vs SST-A after the gamma filter.

Three simulated experts, each with its own failure mode (pose_refine.simulate) and a comparable jitter, estimate
the 13 Penn joints of every clip; each expert's neck is the mean of its own shoulders (as posekit's layouts
derive a neck), since SST-A's D_normal needs a head and a neck (eq. 3.4). SST-A fuses the 14 joints per clip.
The experts' errors are independent unless --shared-jitter adds a Gaussian error common to all of them (real
estimators fail on the same hard frames, which the independent case ignores and SST-A cannot undo).

Evaluation follows the thesis (sec. 3.6.1): head length = distance between the ground-truth head and neck (here
the shoulders' midpoint); PCKh@0.5 counts an estimate within 0.5 head length as correct, a missing one as wrong;
MPJPE is the mean distance over the estimated joints, divided by the head length. Scored: the 13 annotated joints
where visibility is 1, in frames whose head length is positive.

Usage: .venv/bin/python tools/bench_ssta_penn.py [--split all|test|train] [--seed 0] [--gamma 0.18]
                                                 [--shared-jitter 0.0] [--jitter-only]
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import scipy.io

from pose_refine import GAMMA, sst_aggregate
from pose_refine.simulate import ExpertErrors, simulate_expert, simulate_experts
from posekit.layouts import get_layout

LABELS = Path(__file__).resolve().parents[2] / "shared" / "data" / "actions" / "penn_action" / "labels"
PENN = get_layout("penn-13")
HEAD, NECK = PENN.index("head"), PENN.num_joints  # the neck is appended as a 14th joint
SHOULDERS = [PENN.index("left_shoulder"), PENN.index("right_shoulder")]

# Sizes are x the diagonal of the box around the ground-truth joints (the head length is ~0.13 of it).
# Each expert has the same base jitter and one family of gross errors of its own (thesis sec. 3.3.2).
EXPERTS = {
    "top-down A (misses persons; guesses occluded joints)": ExpertErrors(
        jitter=0.04, occluded_jitter=0.04, miss_person_rate=0.10, miss_person_run=8
    ),
    "top-down B (left/right swaps; clamps at the border)": ExpertErrors(
        jitter=0.04, occluded_jitter=0.04, swap_rate=0.10, border="clamp"
    ),
    "bottom-up (drops occluded joints; flicker; border cut)": ExpertErrors(
        jitter=0.04, drop_occluded=0.7, flicker_rate=0.05, flicker_scale=0.3, border="nan", border_margin=0.02
    ),
}


def load_clips(split):
    for path in sorted(LABELS.glob("*.mat")):
        mat = scipy.io.loadmat(path)
        train = int(mat["train"][0, 0]) == 1
        if split == "all" or train == (split == "train"):
            height, width = (int(v) for v in mat["dimensions"][0, :2])
            yield np.stack([mat["x"], mat["y"]], axis=-1).astype(float), mat["visibility"] == 1, (width, height)


def with_neck(poses):
    """Append the neck, the mean of the shoulders, as the last joint of (..., 13, 2) poses."""
    return np.concatenate([poses, poses[..., SHOULDERS, :].mean(axis=-2, keepdims=True)], axis=-2)


class Score:
    """PCKh@0.5 and head-normalised MPJPE accumulated over clips."""

    def __init__(self):
        self.hits = self.scored = self.estimated = 0
        self.error_sum = 0.0

    def add(self, estimate, truth, visible, head_length, frames=None):
        mask = visible & (head_length > 0)[:, None]
        if frames is not None:
            mask &= frames[:, None]
        error = (
            np.hypot(*(estimate[..., :13, :] - truth).transpose(2, 0, 1))[mask]
            / np.broadcast_to(head_length[:, None], mask.shape)[mask]
        )
        estimated = ~np.isnan(error)
        self.hits += int((error[estimated] <= 0.5).sum())
        self.scored += error.size
        self.estimated += int(estimated.sum())
        self.error_sum += float(error[estimated].sum())

    def row(self, name, extra=""):
        return (
            f"| {name} | {100 * self.hits / self.scored:.1f} | {self.error_sum / self.estimated:.3f} | "
            f"{100 * (1 - self.estimated / self.scored):.1f} | {extra} |"
        )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=["all", "test", "train"], default="all")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--gamma", type=float, default=GAMMA)
    parser.add_argument(
        "--shared-jitter",
        type=float,
        default=0.0,
        help="std of an error common to all experts, x person size (default 0: independent)",
    )
    parser.add_argument(
        "--jitter-only", action="store_true", help="ablation: three experts with the same jitter and no gross errors"
    )
    args = parser.parse_args()
    experts_errors = (
        {f"jitter-only expert {k + 1}": ExpertErrors(jitter=0.04) for k in range(3)} if args.jitter_only else EXPERTS
    )
    if not LABELS.is_dir():
        sys.exit(f"bench_ssta_penn: no Penn Action labels at {LABELS}")

    scores = {name: Score() for name in [*experts_errors, "SST-A", "SST-A, gamma-kept frames"]}
    clips = frames = kept = 0
    started = time.perf_counter()
    for clip, (truth, visible, image_size) in enumerate(load_clips(args.split)):
        seed = np.random.SeedSequence([args.seed, clip])
        common = simulate_expert(truth, ExpertErrors(jitter=args.shared_jitter), seed=seed.spawn(1)[0])
        experts = simulate_experts(
            common,
            list(experts_errors.values()),
            joints=PENN.joints,
            visibility=visible,
            image_size=image_size,
            seed=seed,
        )
        fused, _, keep = sst_aggregate(with_neck(experts), head=HEAD, neck=NECK, gamma=args.gamma)
        head_length = np.hypot(*(truth[:, HEAD] - with_neck(truth)[:, NECK]).T)
        for name, estimate in zip(experts_errors, experts):
            scores[name].add(estimate, truth, visible, head_length)
        scores["SST-A"].add(fused, truth, visible, head_length)
        scores["SST-A, gamma-kept frames"].add(fused, truth, visible, head_length, frames=keep)
        clips, frames, kept = clips + 1, frames + len(truth), kept + int(keep.sum())
    elapsed = time.perf_counter() - started

    command = (
        "`.venv/bin/python tools/bench_ssta_penn.py"
        + "".join(
            f" --{k.replace('_', '-')}" + ("" if isinstance(v, bool) else f" {v}")
            for k, v in vars(args).items()
            if v is not False
        )
        + "`"
    )
    print("## SST-A on Penn Action ground truth with simulated experts (tools/bench_ssta_penn.py)\n")
    print(f"- command: {command}")
    print(
        f"- date: {datetime.date.today()}; machine: {platform.machine()}, {os.cpu_count()} cores; "
        f"numpy {np.__version__}; {elapsed:.0f} s"
    )
    print(
        f"- data: {clips} clips ({args.split} split), {frames:,} frames; 13 joints scored where visible; "
        f"neck = shoulders' midpoint; head length = |head - neck| (thesis sec. 3.6.1); gamma = {args.gamma}; "
        f"error common to all experts: {args.shared_jitter} x person size\n"
    )
    print("| poses | PCKh@0.5 (%) | MPJPE / head length | missing joints (%) | note |")
    print("|---|---:|---:|---:|---|")
    for name, score in scores.items():
        note = f"{100 * kept / frames:.1f}% of frames kept" if name.endswith("kept frames") else ""
        print(score.row(name, note))


if __name__ == "__main__":
    main()
