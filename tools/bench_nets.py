"""Training and inference throughput of UNIK, ST-GCN and CTR-GCN on the same input, as a markdown table.

    python tools/bench_nets.py --device cuda --amp
    python tools/bench_nets.py --device cpu --iters 3 --warmup 1
    python tools/bench_nets.py --mmaction2      # adds mmaction2's own ST-GCN (pyskl's) as a peer
    python tools/bench_nets.py --ctrgcn-reference PATH   # adds the authors' CTR-GCN (a checkout of their code)

Defaults follow pyskl's reports: batch 16, T=100, V=25 (NTU layout), M=2, 3-D joints. Models run in turns,
one iteration each, and each figure is batch / median iteration time, so load from other jobs on a shared
machine hits every model alike.

``--mmaction2`` needs mmaction2 beside the pinned stack, which install.sh leaves out (a benchmark peer, not a
dependency): ``.venv/bin/pip install --no-deps mmaction2==1.2.0 einops==0.8.2``. 1.2.0 is the release that
accepts the pinned mmcv 2.1 (1.1.0 refuses it), but its wheel lacks ``mmaction/models/localizers/drn``
(open-mmlab/mmaction2#2714), so ``mmaction.models`` cannot be imported whole: only the ST-GCN backbone, its
head and the losses the head needs are loaded. No package ships CTR-GCN (mmaction2 1.2.0 has none): its peer is the
authors' code, imported from a checkout as tools/compare_ctrgcn.py does.
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import statistics
import sys
import time
import types
from contextlib import nullcontext
from datetime import datetime, timezone
from pathlib import Path

import torch

from posekit.layouts import get_layout
from posekit.nets import CTRGCN, STGCN, UNIK


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
    p.add_argument("--mmaction2", action="store_true", help="also time mmaction2's STGCN + GCNHead (ntu-25 only)")
    p.add_argument("--ctrgcn-reference", help="also time the authors' CTR-GCN from this checkout (ntu-25 only)")
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


class MMAction2STGCN(torch.nn.Module):
    """mmaction2's ST-GCN (the pyskl network: 'stgcn_spatial' graph, 10 blocks) and GCNHead on our (N, C, T, V, M)."""

    def __init__(self, channels: int, classes: int):
        super().__init__()
        stgcn, gcn_head = _import_mmaction2()
        self.backbone = stgcn(graph_cfg=dict(layout="nturgb+d", mode="stgcn_spatial"), in_channels=channels)
        self.head = gcn_head(classes, 256)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.backbone(x.permute(0, 4, 2, 3, 1).contiguous()))  # mmaction2 reads (N, M, T, V, C)


def _import_mmaction2():
    import importlib
    import importlib.util

    spec = importlib.util.find_spec("mmaction")
    if spec is None:
        sys.exit(
            "bench_nets: --mmaction2 needs mmaction2: .venv/bin/pip install --no-deps mmaction2==1.2.0 einops==0.8.2"
        )
    # A bare package object stands in for mmaction.models, whose __init__ imports the missing localizers.drn.
    models = types.ModuleType("mmaction.models")
    models.__path__ = [os.path.join(spec.submodule_search_locations[0], "models")]
    sys.modules["mmaction.models"] = models
    importlib.import_module("mmaction.models.losses")  # registers the CrossEntropyLoss GCNHead builds
    from mmaction.models.backbones.stgcn import STGCN as MMAction2Backbone
    from mmaction.models.heads.gcn_head import GCNHead

    return MMAction2Backbone, GCNHead


def authors_ctrgcn(args) -> torch.nn.Module:
    from compare_ctrgcn import build_reference, load_reference  # beside this script in tools/

    model_class, _ = load_reference(Path(args.ctrgcn_reference))
    return build_reference(model_class, args.channels, args.persons, args.classes)


def run(args) -> dict:
    layout = get_layout(args.layout)
    v = layout.num_joints
    models = {
        "UNIK": UNIK(args.channels, v, args.persons, args.classes),
        "ST-GCN": STGCN(layout, args.channels, args.persons, args.classes),
        "CTR-GCN": CTRGCN(layout, args.channels, args.persons, args.classes),
    }
    if (args.mmaction2 or args.ctrgcn_reference) and args.layout != "ntu-25":
        sys.exit("bench_nets: the peers (--mmaction2, --ctrgcn-reference) build their NTU graph: use --layout ntu-25")
    if args.mmaction2:
        models["mmaction2 ST-GCN"] = MMAction2STGCN(args.channels, args.classes)
    if args.ctrgcn_reference:
        models["authors' CTR-GCN"] = authors_ctrgcn(args)
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
    parts = [
        platform.platform(),
        f"{os.cpu_count()} CPUs",
        f"torch {torch.__version__}",
        f"{torch.get_num_threads()} threads",
    ]
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
    ratios = [("UNIK / ST-GCN", unik, stgcn), ("CTR-GCN / ST-GCN", results["CTR-GCN"], stgcn)]
    if "mmaction2 ST-GCN" in results:
        ratios.append(("ST-GCN / mmaction2 ST-GCN", stgcn, results["mmaction2 ST-GCN"]))
    if "authors' CTR-GCN" in results:
        ratios.append(("CTR-GCN / authors' CTR-GCN", results["CTR-GCN"], results["authors' CTR-GCN"]))
    for label, a, b in ratios:
        rows.append(
            f"| {label} | {a['params'] / b['params']:.2f} | {a['train'] / b['train']:.2f} | "
            f"{a['infer'] / b['infer']:.2f} |"
        )
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
