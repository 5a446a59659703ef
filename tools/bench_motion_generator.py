"""Training speed and memory of the motion generator (thesis ch. 4) against its ablation and a recognition peer.

    python tools/bench_motion_generator.py --store ucla_views.h5               # CPU, torch's threads
    python tools/bench_motion_generator.py --store ucla_views.h5 --threads 1
    python tools/bench_motion_generator.py --store ucla_views.h5 --device cuda --amp

Arms, on the same batch of real training pairs (A, B and the renders AB, BA of a ``posekit synth views`` store):
the generator (orthonormal dictionary, QR in every step), the same network without the dictionary, and UNIK
trained as a classifier on the four windows of each pair (a recognition model on the same number of frames).
One optimiser step (Adam, as the configs) per iteration; each figure is pairs per second at the median iteration
time. Each arm runs in its own process so that its peak memory is its own: the peak resident memory above the
process's size after loading the batch (CPU), or torch's peak allocation (CUDA).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shlex
import statistics
import subprocess
import sys
import time
from contextlib import nullcontext
from datetime import datetime, timezone

ARMS = {
    "generator": "generator (dictionary, J=128 / K=32)",
    "no-dictionary": "without the dictionary",
    "unik": "UNIK classifier on the same frames (peer)",
}


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--store", required=True, help="a posekit synth views store")
    p.add_argument("--window", type=int, default=32, help="frames per window (the N-UCLA configs' 32)")
    p.add_argument("--batch", type=int, default=64, help="pairs per step (the configs' 64)")
    p.add_argument("--iters", type=int, default=20, help="timed steps per arm")
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    p.add_argument("--amp", action="store_true", help="autocast: float16 on cuda, bfloat16 on cpu")
    p.add_argument("--threads", type=int, help="CPU threads for torch (default: torch's choice)")
    p.add_argument("--arm", choices=ARMS, help=argparse.SUPPRESS)  # one arm, in a child process
    return p.parse_args(argv)


def real_batch(args):
    """A training batch of (N, T, V, 2) windows A, B, AB, BA from the store, the same for every arm."""
    import numpy as np
    import torch

    from posekit.train.retarget_pairs import RetargetPairs

    pairs = RetargetPairs(args.store, part="train", window=args.window, stride=args.window // 2)
    np.random.seed(0)
    items = [pairs[i] for i in np.linspace(0, len(pairs) - 1, args.batch).round().astype(int)]
    return {k: torch.stack([item[k] for item in items]) for k in items[0]}, pairs.store.layout


def build_step(arm: str, batch: dict, layout, device: str):
    """The model of ``arm`` and one training step on ``batch``."""
    import torch

    from posekit.registry import MODELS

    root = layout.index(layout.centre) if layout.centre else 0
    if arm == "unik":
        model = MODELS.build(
            dict(type="UNIK", num_joints=layout.num_joints, in_channels=2, num_persons=1, num_classes=10)
        )
        # (4N, C, T, V, M=1): every window of the pair, as a recogniser would read them
        x = torch.cat([batch[k] for k in ("a", "b", "ab", "ba")]).permute(0, 3, 1, 2)[..., None].contiguous()
        y = torch.arange(len(x)) % 10
        x, y = x.to(device), y.to(device)

        def loss():
            return torch.nn.functional.cross_entropy(model(x), y)
    else:
        net = dict(type="MotionGenerator", num_joints=layout.num_joints, root=root, use_dictionary=arm == "generator")
        model = MODELS.build(dict(type="RetargetingModel", net=net))
        inputs = {k: v.to(device) for k, v in batch.items()}

        def loss():
            return sum(model(**inputs, mode="loss").values())

    model.to(device).train()
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-3)
    return model, optimiser, loss


def run_arm(args) -> dict:
    import torch

    import posekit.train  # noqa: F401  (registers RetargetingModel)

    if args.threads:
        torch.set_num_threads(args.threads)
    batch, layout = real_batch(args)
    model, optimiser, loss = build_step(args.arm, batch, layout, args.device)
    cast = (
        torch.autocast(args.device, dtype=torch.float16 if args.device == "cuda" else torch.bfloat16)
        if args.amp
        else nullcontext()
    )
    scaler = torch.amp.GradScaler(args.device, enabled=args.amp and args.device == "cuda")
    base_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if args.device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    times = []
    for i in range(args.warmup + args.iters):
        start = time.perf_counter()
        optimiser.zero_grad(set_to_none=True)
        with cast:
            value = loss()
        scaler.scale(value).backward()
        scaler.step(optimiser)
        scaler.update()
        if args.device == "cuda":
            torch.cuda.synchronize()
        if i >= args.warmup:
            times.append(time.perf_counter() - start)
    peak_mib = (
        torch.cuda.max_memory_allocated() / 2**20
        if args.device == "cuda"
        else (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base_kib) / 1024
    )
    return {
        "arm": args.arm,
        "pairs_per_s": args.batch / statistics.median(times),
        "step_ms": 1000 * statistics.median(times),
        "peak_mib": peak_mib,
        "parameters": sum(p.numel() for p in model.parameters()),
        "threads": torch.get_num_threads(),
    }


def main(argv=None) -> None:
    args = parse_args(argv)
    if args.arm:
        print(json.dumps(run_arm(args)))
        return
    rows = []
    for arm in ARMS:
        child = subprocess.run(
            [sys.executable, __file__, *(argv or sys.argv[1:]), "--arm", arm], capture_output=True, text=True
        )
        if child.returncode:
            sys.exit(f"arm {arm} failed:\n{child.stderr[-2000:]}")
        rows.append(json.loads(child.stdout.strip().splitlines()[-1]))
    generator = rows[0]["pairs_per_s"]
    print(
        f"{datetime.now(timezone.utc):%Y-%m-%d}, {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} CPUs, device {args.device}, {'AMP' if args.amp else 'float32'}, "
        f"{rows[0]['threads']} torch threads, batch {args.batch} pairs x {args.window} frames\n"
        f"command: python tools/bench_motion_generator.py {shlex.join(argv or sys.argv[1:])}\n"
    )
    print("| arm | parameters | step (ms) | pairs/s | ratio to the generator | peak memory (MiB) |")
    print("|---|---:|---:|---:|---:|---:|")
    for row in rows:
        print(
            f"| {ARMS[row['arm']]} | {row['parameters']:,} | {row['step_ms']:.0f} | {row['pairs_per_s']:.0f} | "
            f"{row['pairs_per_s'] / generator:.3g} | {row['peak_mib']:.0f} |"
        )


if __name__ == "__main__":
    main()
