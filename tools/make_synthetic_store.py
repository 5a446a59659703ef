"""Write a large synthetic skeleton store (and optionally the same clips as a pyskl pickle) for benchmarks.

    python tools/make_synthetic_store.py /tmp/syn100k.h5 --clips 100000 [--pickle /tmp/syn100k.pkl]

Clips: T uniform in 50..150 frames, M=2, V=17 (COCO), C=2 float32 plus scores; see posekit.sample.
An existing store written with the same parameters is kept (use --force to rewrite).
"""

import argparse
import time
from pathlib import Path

from posekit.sample import write_pyskl_pickle, write_synthetic_store


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("store", type=Path)
    p.add_argument("--clips", type=int, default=100_000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--chunk-frames", type=int, default=1024)
    p.add_argument("--compression", default="gzip", help="gzip, lzf or none")
    p.add_argument("--pickle", type=Path, help="also write the clips as a pyskl annotation pickle here")
    p.add_argument("--force", action="store_true", help="rewrite even if a store with these parameters exists")
    args = p.parse_args(argv)
    compression = None if args.compression.lower() == "none" else args.compression
    t = time.perf_counter()
    write_synthetic_store(
        args.store,
        args.clips,
        seed=args.seed,
        chunk_frames=args.chunk_frames,
        compression=compression,
        reuse=not args.force,
    )
    print(f"{args.store}: {args.store.stat().st_size / 1e6:.0f} MB in {time.perf_counter() - t:.1f} s")
    if args.pickle:
        t = time.perf_counter()
        write_pyskl_pickle(args.pickle, args.clips, seed=args.seed)
        print(f"{args.pickle}: {args.pickle.stat().st_size / 1e6:.0f} MB in {time.perf_counter() - t:.1f} s")


if __name__ == "__main__":
    main()
