"""Inference throughput of UNIK, ST-GCN and CTR-GCN exported by posekit (onnxruntime) against PyTorch eager, on the CPU.

    OMP_NUM_THREADS=1 python tools/bench_onnx.py --threads 1 --batches 1,16

Defaults follow pyskl's reports: T=100, V=25 (NTU layout), M=2, 3-D joints, 60 classes. Each network (freshly
initialised: the weights do not change the arithmetic) is exported with posekit.deploy.export.write_onnx, which
also checks onnxruntime's logits against PyTorch's. For each batch size, PyTorch (``torch.inference_mode``) and
onnxruntime (CPU provider, default graph optimisations) run in turns on the same input, so load from other jobs hits
both alike; each figure is batch / median time of ``--iters`` runs after ``--warmup``. Prints a markdown section.
"""

from __future__ import annotations

import argparse
import platform
import shlex
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import onnxruntime
import torch

from posekit.deploy.export import OPSET, write_onnx
from posekit.deploy.runtime import inference_session
from posekit.layouts import get_layout
from posekit.nets import CTRGCN, STGCN, UNIK


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--batches", default="1,16", help="comma-separated batch sizes")
    p.add_argument("--frames", type=int, default=100)
    p.add_argument("--layout", default="ntu-25", help="joint layout; ST-GCN's and CTR-GCN's graph and V")
    p.add_argument("--persons", type=int, default=2)
    p.add_argument("--channels", type=int, default=3)
    p.add_argument("--classes", type=int, default=60)
    p.add_argument("--iters", type=int, default=10, help="timed runs per model, batch size and runtime")
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--threads", type=int, default=1, help="intra-op threads of both runtimes")
    return p.parse_args(argv)


def networks(args) -> dict[str, torch.nn.Module]:
    layout = get_layout(args.layout)
    return {
        "UNIK": UNIK(args.channels, layout.num_joints, args.persons, args.classes),
        "ST-GCN": STGCN(layout, args.channels, args.persons, args.classes),
        "CTR-GCN": CTRGCN(layout, args.channels, args.persons, args.classes),
    }


def export(name: str, net: torch.nn.Module, args, folder: Path):
    """An onnxruntime session of ``net``'s export, with placeholder classes and an empty pipeline."""
    info = {
        "model": name,
        "classes": [f"class_{k}" for k in range(args.classes)],
        "layout": get_layout(args.layout).to_json(),
        "stream": "joint",
        "pipeline": [],
    }
    path = folder / f"{name}.onnx"
    write_onnx(net, info, path)
    return inference_session(path, threads=args.threads)


def measure(net: torch.nn.Module, session, batch: int, args) -> dict[str, float]:
    """Samples per second of PyTorch eager and onnxruntime on one random batch, timed in turns."""
    keypoints = torch.randn(batch, args.channels, args.frames, get_layout(args.layout).num_joints, args.persons)
    feed = {"keypoints": keypoints.numpy()}

    def eager():
        with torch.inference_mode():
            net(keypoints)

    def ort():
        session.run(["logits"], feed)

    times = {"pytorch": [], "onnxruntime": []}
    for _ in range(args.warmup):
        eager()
        ort()
    for _ in range(args.iters):
        for runtime, run in (("pytorch", eager), ("onnxruntime", ort)):
            start = time.perf_counter()
            run()
            times[runtime].append(time.perf_counter() - start)
    return {runtime: batch / statistics.median(seconds) for runtime, seconds in times.items()}


def cpu_name() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines() if Path("/proc/cpuinfo").exists() else []:
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


def section(args, results: dict, command: str) -> str:
    rows = [
        "## ONNX export: onnxruntime against PyTorch eager on the CPU",
        "",
        f"Command: `{command}`  ",
        f"Date: {datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}  ",
        f"Machine: {cpu_name()}, {platform.platform()}, {args.threads} thread(s) for each runtime; "
        f"torch {torch.__version__}, onnxruntime {onnxruntime.__version__}, ONNX opset {OPSET}  ",
        f"Input: C={args.channels}, T={args.frames}, V={get_layout(args.layout).num_joints} ({args.layout}), "
        f"M={args.persons}, {args.classes} classes, float32; median of {args.iters} runs after {args.warmup} "
        "warm-up, the two runtimes in turns",
        "",
        "| model | batch | PyTorch samples/s | onnxruntime samples/s | onnxruntime / PyTorch |",
        "|---|---:|---:|---:|---:|",
    ]
    for (name, batch), r in results.items():
        rows.append(
            f"| {name} | {batch} | {r['pytorch']:.2f} | {r['onnxruntime']:.2f} | "
            f"{r['onnxruntime'] / r['pytorch']:.2f} |"
        )
    return "\n".join(rows)


def main(argv=None) -> None:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    batches = [int(b) for b in args.batches.split(",")]
    results = {}
    with tempfile.TemporaryDirectory() as folder:
        for name, net in networks(args).items():
            net.eval()
            session = export(name, net, args, Path(folder))
            for batch in batches:
                results[name, batch] = measure(net, session, batch, args)
                print(f"{name} batch {batch}: {results[name, batch]}", file=sys.stderr)
    print(section(args, results, shlex.join(["python", "tools/bench_onnx.py", *(argv or sys.argv[1:])])))


if __name__ == "__main__":
    main()
