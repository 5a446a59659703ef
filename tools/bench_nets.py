"""Training and inference throughput of UNIK and ST-GCN on the same input, as a markdown table.

    python tools/bench_nets.py --device cuda --amp
    python tools/bench_nets.py --device cpu --iters 3 --warmup 1

Defaults follow pyskl's reports: batch 16, T=100, V=25 (NTU layout), M=2, 3-D joints. Models run in turns,
one iteration each, and each figure is batch / median iteration time, so load from other jobs on a shared
machine hits both models alike.
"""
from __future__ import annotations

import argparse
import os
import platform
import shlex
import statistics
import sys
import time
from contextlib import nullcontext
from datetime import datetime, timezone

import torch

from posekit.layouts import get_layout
from posekit.nets import STGCN, UNIK


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    p.add_argument("--amp", action="store_true", help="autocast: float16 on cuda, bfloat16 on cpu")
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--frames", type=int, default=100)
    p.add_argument("--layout", default="ntu-25", help="joint layout; ST-GCN's graph and V for both models")
    p.add_argument("--persons", type=int, default=2)
    p.add_argument("--channels", type=int, default=3)
    p.add_argument("--classes", type=int, default=60)
    p.add_argument("--iters", type=int, default=20, help="timed iterations per model and mode")
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--threads", type=int, help="CPU threads for torch (default: torch's choice)")
    return p.parse_args(argv)


def autocast(args):
    if not args.amp:
        return nullcontext()
    return torch.autocast(args.device, dtype=torch.float16 if args.device == "cuda" else torch.bfloat16)


def sync(device: str):
    if device == "cuda":
        torch.cuda.synchronize()


def make_steps(model, x, y, args):
    """One training step (SGD, as the authors train) and one inference pass of ``model``."""
    optimiser = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-4)
    scaler = torch.amp.GradScaler(args.device, enabled=args.amp and args.device == "cuda")

    def train():
        model.train()
        optimiser.zero_grad(set_to_none=True)
        with autocast(args):
            loss = torch.nn.functional.cross_entropy(model(x), y)
        scaler.scale(loss).backward()
        scaler.step(optimiser)
        scaler.update()

    def infer():
        model.eval()
        with torch.inference_mode(), autocast(args):
            model(x)

    return {"train": train, "infer": infer}


def run(args) -> dict:
    layout = get_layout(args.layout)
    v = layout.num_joints
    models = {
        "UNIK": UNIK(args.channels, v, args.persons, args.classes),
        "ST-GCN": STGCN(layout, args.channels, args.persons, args.classes),
    }
    x = torch.randn(args.batch, args.channels, args.frames, v, args.persons, device=args.device)
    y = torch.randint(args.classes, (args.batch,), device=args.device)
    steps = {name: make_steps(m.to(args.device), x, y, args) for name, m in models.items()}
    results = {name: {"params": sum(p.numel() for p in m.parameters())} for name, m in models.items()}
    for mode in ("train", "infer"):
        times = {name: [] for name in models}
        for i in range(args.warmup + args.iters):
            for name in models:  # in turns, so background load hits both
                sync(args.device)
                start = time.perf_counter()
                steps[name][mode]()
                sync(args.device)
                if i >= args.warmup:
                    times[name].append(time.perf_counter() - start)
        for name in models:
            results[name][mode] = args.batch / statistics.median(times[name])
    return results


def machine(device: str) -> str:
    parts = [platform.platform(), f"{os.cpu_count()} CPUs", f"torch {torch.__version__}",
             f"{torch.get_num_threads()} threads"]
    if device == "cuda":
        parts.append(f"GPU {torch.cuda.get_device_name()}")
    return ", ".join(parts)


def table(args, results: dict, command: str) -> str:
    unik, stgcn = results["UNIK"], results["ST-GCN"]
    rows = [
        f"Command: `{command}`  ",
        f"Date: {datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}  ",
        f"Machine: {machine(args.device)}  ",
        f"Input: batch {args.batch}, C={args.channels}, T={args.frames}, V={get_layout(args.layout).num_joints} "
        f"({args.layout}), M={args.persons}, {args.classes} classes, AMP {'on' if args.amp else 'off'}, "
        f"median of {args.iters} iterations after {args.warmup} warm-up",
        "",
        "| model | parameters (M) | training samples/s | inference samples/s |",
        "|---|---:|---:|---:|",
    ]
    for name, r in results.items():
        rows.append(f"| {name} | {r['params'] / 1e6:.2f} | {r['train']:.1f} | {r['infer']:.1f} |")
    rows.append(f"| UNIK / ST-GCN | {unik['params'] / stgcn['params']:.2f} | "
                f"{unik['train'] / stgcn['train']:.2f} | {unik['infer'] / stgcn['infer']:.2f} |")
    return "\n".join(rows)


def main(argv=None):
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.device == "cuda" and not torch.cuda.is_available():
        sys.exit("bench_nets: --device cuda but torch sees no CUDA device")
    words = [sys.argv[0], *(sys.argv[1:] if argv is None else argv)]
    command = "python " + " ".join(shlex.quote(w) for w in words)
    print(table(args, run(args), command))


if __name__ == "__main__":
    main()
