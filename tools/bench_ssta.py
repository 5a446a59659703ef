"""Speed of pose_refine.sst_aggregate against a plain per-frame, per-joint Python loop of eq. 3.1-3.4.

All run on the same simulated data (3 experts, 14 joints, missed joints and persons): the loop (once indexing
the NumPy array as is, once on the array turned into nested lists, its fastest plain-Python form) and the
single-person call on the first --loop-persons persons, the batched call on all of them.
Prints a markdown section. Usage: .venv/bin/python tools/bench_ssta.py [--persons 1000 --frames 100]
"""

from __future__ import annotations

import argparse
import datetime
import math
import os
import platform
import time

import numpy as np

from pose_refine import GAMMA, sst_aggregate, sst_aggregate_batch

HEAD, NECK = 0, 13


def loop_sst(poses, head, neck, gamma=GAMMA):
    """Eq. 3.1-3.4 one frame and one joint at a time in plain Python (the baseline); poses an array or lists."""
    n_experts, n_frames, n_joints = len(poses), len(poses[0]), len(poses[0][0])
    dist = math.dist  # eq. 3.2
    fused = [[None] * n_joints for _ in range(n_frames)]
    for t in range(n_frames):
        for v in range(n_joints):
            estimates = [(k, poses[k][t][v]) for k in range(n_experts) if not math.isnan(poses[k][t][v][0])]
            if not estimates:
                continue
            previous = fused[t - 1][v] if t else None
            if previous is not None:
                fused[t][v] = min(estimates, key=lambda e: dist(e[1], previous))[1]
            elif len(estimates) == 1:
                fused[t][v] = estimates[0][1]
            else:
                pairs = [(a, b) for i, a in enumerate(estimates) for b in estimates[i + 1 :]]
                fused[t][v] = min(pairs, key=lambda ab: dist(ab[0][1], ab[1][1]))[0][1]
    confidence, keep = [], []
    for t in range(n_frames):
        if fused[t][head] is None or fused[t][neck] is None:
            confidence.append(math.nan)
            keep.append(False)
            continue
        gaps = [
            dist(fused[t][v], poses[k][t][v])
            for v in range(n_joints)
            if fused[t][v] is not None
            for k in range(n_experts)
            if not math.isnan(poses[k][t][v][0])
        ]
        c = math.exp(-(sum(gaps) / len(gaps)) / (dist(fused[t][head], fused[t][neck]) + 1e-12))  # eq. 3.4
        confidence.append(c)
        keep.append(c >= gamma)  # eq. 3.3
    return fused, confidence, keep


def simulated(persons, frames, joints=14, experts=3, seed=0):
    rng = np.random.default_rng(seed)
    truth = np.cumsum(rng.normal(0, 2, (persons, 1, frames, joints, 2)), axis=2) + rng.uniform(
        0, 300, (persons, 1, 1, joints, 2)
    )
    poses = truth + rng.normal(0, 5, (persons, experts, frames, joints, 2))
    poses[rng.random((persons, experts, frames, joints)) < 0.1] = np.nan
    poses[rng.random((persons, experts, frames)) < 0.05] = np.nan
    return poses.astype(np.float32)  # as a store holds them


def best_time(run, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=1000)
    parser.add_argument("--frames", type=int, default=100)
    parser.add_argument("--loop-persons", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    load = os.getloadavg()[0]
    poses = simulated(args.persons, args.frames)
    few = poses[: args.loop_persons]

    for p in range(len(few)):  # same answers before timing anything
        fused, _, _ = sst_aggregate(few[p], head=HEAD, neck=NECK)
        ref = np.array([[np.nan] * 2 if j is None else j for f in loop_sst(few[p].tolist(), HEAD, NECK)[0] for j in f])
        np.testing.assert_array_equal(fused.reshape(-1, 2), ref)

    array_loop_s = best_time(lambda: [loop_sst(person, HEAD, NECK) for person in few], args.repeats)
    list_loop_s = best_time(lambda: [loop_sst(person.tolist(), HEAD, NECK) for person in few], args.repeats)
    single_s = best_time(lambda: [sst_aggregate(person, head=HEAD, neck=NECK) for person in few], args.repeats)
    batch_s = best_time(lambda: sst_aggregate_batch(poses, head=HEAD, neck=NECK), args.repeats)
    batch64_s = best_time(lambda: sst_aggregate_batch(poses.astype(np.float64), head=HEAD, neck=NECK), args.repeats)
    threads_s = best_time(lambda: sst_aggregate_batch(poses, head=HEAD, neck=NECK, threads=2), args.repeats)
    few_frames, all_frames = len(few) * args.frames, len(poses) * args.frames
    rates = {
        "array loop": few_frames / array_loop_s,
        "list loop": few_frames / list_loop_s,
        "single": few_frames / single_s,
        "batch": all_frames / batch_s,
        "batch64": all_frames / batch64_s,
        "threads": all_frames / threads_s,
    }

    print("## SST-A speed (tools/bench_ssta.py)\n")
    print(
        f"- command: `.venv/bin/python tools/bench_ssta.py --persons {args.persons} --frames {args.frames} "
        f"--loop-persons {args.loop_persons} --repeats {args.repeats}`"
    )
    print(
        f"- date: {datetime.date.today()}; machine: {platform.machine()}, {os.cpu_count()} cores, "
        f"load average {load:.1f} at the start (shared machine); numpy {np.__version__}; "
        f"best of {args.repeats}"
    )
    print(
        f"- data: 3 simulated experts, 14 joints, {args.frames} frames per person, ~15% missing estimates, float32 "
        "as in a store; the loop's fused poses equal the vectorised ones\n"
    )
    print("| implementation | persons | person-frames/s | x array loop | x list loop |")
    print("|---|---:|---:|---:|---:|")
    rows = [
        ("plain Python loop indexing the array (per frame, per joint)", "array loop", len(few)),
        ("plain Python loop on nested lists (per frame, per joint)", "list loop", len(few)),
        ("`sst_aggregate`, one person per call", "single", len(few)),
        ("`sst_aggregate_batch`, all persons in one call, 1 thread", "batch", len(poses)),
        ("the same on a float64 copy of the poses, 1 thread", "batch64", len(poses)),
        ("`sst_aggregate_batch(..., threads=2)`, float32", "threads", len(poses)),
    ]
    for label, key, persons in rows:
        print(
            f"| {label} | {persons} | {rates[key]:,.0f} | {rates[key] / rates['array loop']:,.1f} | "
            f"{rates[key] / rates['list loop']:,.1f} |"
        )


if __name__ == "__main__":
    main()
