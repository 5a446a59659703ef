"""End-to-end `posekit refine` throughput (person-frames/s, store I/O included) on Penn Action ground truth.

A proposals store is built once (not timed) as `posekit extract` would write it: one clip per (video, expert),
layout unik-17, track id 0, from the three simulated experts of tools/bench_ssta_penn.py (each expert estimates
the 13 Penn joints; its unik-17 neck, chest... are derived from its own joints). Then, in the same run:
- refine_store with the quality report (what `posekit refine --report` does) and without it;
- the store-reading floor: every video's expert clips read and aligned by track id, nothing fused;
- the SST-A floor: the same sst_aggregate_batch calls on arrays already in memory, nothing read or written.
Accuracy of the refined store against the ground truth (PCKh@0.5 in unik-17, head length |nose - neck|) checks
that the store path fuses what tools/bench_ssta_penn.py fuses. Prints a markdown section.

Usage: OMP_NUM_THREADS=1 .venv/bin/python tools/bench_refine.py [--clips 2326] [--seed 0] [--gamma 0.18]
                                                              [--repeats 3]
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from bench_ssta_penn import EXPERTS, LABELS, PENN, load_clips

from pose_refine import GAMMA, sst_aggregate_batch
from pose_refine.simulate import simulate_experts
from posekit.layouts import get_layout, remap
from posekit.refine.proposals import expert_order, group_videos, load_video
from posekit.refine.store import refine_store
from posekit.store import Clip, SkeletonStore, StoreWriter

UNIK = get_layout("unik-17")
HEAD, NECK = UNIK.index(UNIK.head), UNIK.index(UNIK.neck)
NAMES = ["top-down-A", "top-down-B", "bottom-up"]


def build_proposals(path, n_clips, seed):
    """Write the proposals store; returns the unik-17 ground truth per video and the experts' estimates."""
    truths, estimates = {}, {}
    with StoreWriter(
        path,
        UNIK,
        coord_dims=2,
        allow_empty=True,
        provenance={"step": "extract", "experts": NAMES, "simulated": "tools/bench_ssta_penn.py"},
    ) as w:
        for clip, (truth, visible, image_size) in enumerate(load_clips("all")):
            if clip == n_clips:
                break
            experts = simulate_experts(
                truth,
                list(EXPERTS.values()),
                joints=PENN.joints,
                visibility=visible,
                image_size=image_size,
                seed=np.random.SeedSequence([seed, clip]),
            )
            video = f"penn{clip:04d}"
            truths[video] = remap(truth, "penn-13", "unik-17")
            estimates[video] = remap(experts, "penn-13", "unik-17")
            for name, estimate in zip(NAMES, estimates[video]):
                w.add(
                    Clip(
                        id=f"{video}@{name}",
                        keypoints=estimate[:, None],
                        track_id=np.zeros((len(truth), 1), int),
                        image_size=image_size,
                        fps=30.0,
                        source=f"{video}.mp4",
                    )
                )
    return truths, estimates


def timed(steps, repeats):
    """Best wall time of each step over ``repeats`` rounds, the steps interleaved in every round so that all of
    them meet the same load on a shared machine; returns ({name: seconds}, {name: last result})."""
    best, results = {name: float("inf") for name in steps}, {}
    for _ in range(repeats):
        for name, step in steps.items():
            started = time.perf_counter()
            results[name] = step()
            best[name] = min(best[name], time.perf_counter() - started)
    return best, results


def read_floor(path):
    store = SkeletonStore(path)
    videos = group_videos(store)
    experts = expert_order(store, videos)
    return [load_video(store, video, clips, experts).poses for video, clips in videos.items()]


def pckh(poses, truths):
    hits = scored = 0
    for video, truth in truths.items():
        head_length = np.hypot(*(truth[:, HEAD] - truth[:, NECK]).T)[:, None]
        valid = (head_length > 0) & ~np.isnan(truth[..., 0])
        error = np.hypot(*(poses[video] - truth).transpose(2, 0, 1))
        hits += int((error[valid] <= 0.5 * np.broadcast_to(head_length, valid.shape)[valid]).sum())
        scored += int(valid.sum())
    return 100 * hits / scored


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=2326, help="Penn Action clips (one video each)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--gamma", type=float, default=GAMMA)
    parser.add_argument(
        "--repeats", type=int, default=3, help="timed rounds of all steps; each step's best is reported"
    )
    args = parser.parse_args()
    if not LABELS.is_dir():
        sys.exit(f"bench_refine: no Penn Action labels at {LABELS}")

    with tempfile.TemporaryDirectory(prefix="bench_refine_") as folder:
        folder = Path(folder)
        proposals = folder / "proposals.h5"
        started = time.perf_counter()
        truths, estimates = build_proposals(proposals, args.clips, args.seed)
        build_s = time.perf_counter() - started
        person_frames = sum(len(t) for t in truths.values())
        aligned = read_floor(proposals)
        run = dict(gamma=args.gamma, progress=False)
        steps = {
            "`refine_store` + quality report (`posekit refine --report`)": lambda: refine_store(
                proposals, folder / "refined.h5", report_dir=folder / "report", **run
            ),
            "`refine_store`, no report": lambda: refine_store(proposals, folder / "plain.h5", **run),
            "floor: read + align the proposals by track id only": lambda: read_floor(proposals),
            "floor: `sst_aggregate_batch` per video on in-memory arrays only": lambda: [
                sst_aggregate_batch(poses, head=HEAD, neck=NECK, gamma=args.gamma) for poses in aligned
            ],
        }
        seconds, results = timed(steps, args.repeats)
        summary = results[next(iter(steps))]
        refined = SkeletonStore(folder / "refined.h5")
        fused = {refined.ids[i]: refined[i].keypoints[:, 0] for i in range(len(refined))}
        sizes = {name: (folder / name).stat().st_size / 2**20 for name in ("proposals.h5", "refined.h5")}

    report_s = seconds[next(iter(steps))]
    print("## posekit refine end to end (tools/bench_refine.py)\n")
    print(
        f"- command: `OMP_NUM_THREADS=1 .venv/bin/python tools/bench_refine.py --clips {args.clips} "
        f"--seed {args.seed} --gamma {args.gamma} --repeats {args.repeats}` "
        f"(best of {args.repeats} interleaved rounds)"
    )
    print(
        f"- date: {datetime.date.today()}; machine: {platform.machine()}, {os.cpu_count()} cores (shared), "
        f"load average {os.getloadavg()[0]:.1f}; numpy {np.__version__}"
    )
    print(
        f"- data: {len(truths)} Penn Action clips = {len(truths)} videos x 3 simulated experts, 1 track each, "
        f"{person_frames:,} person-frames, unik-17; proposals store {sizes['proposals.h5']:.1f} MiB "
        f"(built in {build_s:.0f} s, not timed below), refined store {sizes['refined.h5']:.1f} MiB\n"
    )
    print("| run | seconds | person-frames/s | x end to end with report |")
    print("|---|---:|---:|---:|")
    for name, step_s in seconds.items():
        print(f"| {name} | {step_s:.2f} | {person_frames / step_s:,.0f} | {report_s / step_s:.2f} |")
    report = summary["report"]
    print(
        f"\nAccuracy, PCKh@0.5 over the 17 unik joints against the ground truth (head length |nose - neck|): "
        f"refined store {pckh(fused, truths):.1f}%; experts "
        + ", ".join(
            f"{name} {pckh({v: e[k] for v, e in estimates.items()}, truths):.1f}%" for k, name in enumerate(NAMES)
        )
        + f". Kept at gamma {args.gamma}: {100 * report['kept_fraction']:.1f}% of person-frames; median C "
        f"{report['confidence_quantiles']['0.5']:.3f}; selected by SST-A: "
        + ", ".join(f"{n} {100 * s['selected_fraction']:.0f}%" for n, s in report["experts"].items())
        + "."
    )


if __name__ == "__main__":
    main()
