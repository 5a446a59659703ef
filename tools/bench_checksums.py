"""What Fletcher32 chunk checksums cost: the same synthetic store written with and without them, in one run.

    python tools/bench_checksums.py --clips 5000 --reads 4000

The clips (posekit.sample, generated once, in memory) are written by StoreWriter with its defaults
(chunks, compression) and ``checksums`` True or False; then random clips (the same order for both stores) are
read with SkeletonStore.frames (keypoints and scores, what StoreDataset reads). Each measurement is repeated
``--repeats`` times, alternating the two stores, and the median kept. Prints a markdown section, ratios first.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from posekit.sample import LAYOUT, synthetic_clips
from posekit.store import SkeletonStore, StoreWriter


def write(path: Path, clips, checksums: bool) -> float:
    start = time.perf_counter()
    with StoreWriter(
        path, LAYOUT, coord_dims=2, classes=[f"action_{k}" for k in range(10)], checksums=checksums
    ) as writer:
        for clip in clips:
            writer.add(clip)
    return time.perf_counter() - start


def read(path: Path, order: list[int], warmup: int) -> float:
    """Clips per second over ``order``, after ``warmup`` reads (a fresh handle each time: a cold chunk cache)."""
    with SkeletonStore(path) as store:
        for index in order[:warmup]:
            store.frames(index)
        start = time.perf_counter()
        for index in order[warmup:]:
            store.frames(index)
        return (len(order) - warmup) / (time.perf_counter() - start)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--clips", type=int, default=5000)
    p.add_argument("--reads", type=int, default=4000)
    p.add_argument("--warmup", type=int, default=200)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--dir", type=Path, help="where the two stores go (default: a temporary folder, removed)")
    args = p.parse_args(argv)
    clips = list(synthetic_clips(args.clips, seed=args.seed))
    order = np.random.default_rng(args.seed).integers(0, args.clips, args.warmup + args.reads).tolist()
    with tempfile.TemporaryDirectory(dir=args.dir) as folder:
        paths = {flag: Path(folder) / f"checksums_{flag}.h5" for flag in (False, True)}
        writes, reads = {False: [], True: []}, {False: [], True: []}
        for repeat in range(args.repeats):
            for flag in (False, True) if repeat % 2 == 0 else (True, False):  # alternate: no order advantage
                paths[flag].unlink(missing_ok=True)
                writes[flag].append(write(paths[flag], clips, flag))
        for repeat in range(args.repeats):
            for flag in (False, True) if repeat % 2 == 0 else (True, False):
                reads[flag].append(read(paths[flag], order, args.warmup))
        sizes = {flag: path.stat().st_size for flag, path in paths.items()}
    write_s = {flag: statistics.median(v) for flag, v in writes.items()}
    read_rate = {flag: statistics.median(v) for flag, v in reads.items()}
    frames = sum(c.num_frames for c in clips)
    print(
        "| clips, frames | write time with / without | random-read rate with / without | "
        "file size with / without |\n| --- | --- | --- | --- |"
    )
    print(
        f"| {args.clips}, {frames} | {write_s[True] / write_s[False]:.3f} | "
        f"{read_rate[True] / read_rate[False]:.3f} | {sizes[True] / sizes[False]:.4f} |\n"
    )
    print("| checksums | write (s) | random reads (clips/s) | file (MB) |\n| --- | --- | --- | --- |")
    for flag in (False, True):
        print(
            f"| {'fletcher32' if flag else 'none'} | {write_s[flag]:.2f} | {read_rate[flag]:.0f} | "
            f"{sizes[flag] / 1e6:.1f} |"
        )
    print(
        f"\nmedian of {args.repeats}; {args.reads} random reads after {args.warmup} warm-up; "
        f"{platform.python_version()}, {platform.machine()}"
    )


if __name__ == "__main__":
    main()
