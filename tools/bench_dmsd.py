"""Benchmark: DMSD vs a single temporal-shift stream vs constant-velocity extrapolation on the synthetic arena,
on held-out scenarios and on held-out individuals, single-threaded on a CPU.

    OMP_NUM_THREADS=1 .venv/bin/python tools/bench_dmsd.py --out /tmp/bench_dmsd

Generates the arena (5 scenarios x 6 rats x 2 sessions), labels it (3 s ahead, radius 1/10, screen convention),
trains each model with ``posekit.train.dmsd.train`` (the code behind ``posekit train dmsd``) for the same
number of epochs, and prints a markdown table of top-1, mean class accuracy and its std, with wall-clock times.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from posekit.rodent.ratpose.arena import generate
from posekit.rodent.ratpose.labels import label_store
from posekit.train.dmsd import train
from posekit.zoo import models_dir

MODELS = {"DMSD": "dmsd_1xb16_arena.py", "single TSM stream": "tsm_1xb16_arena.py"}
PROTOCOLS = {
    "held-out scenario (dense_fog)": ("train_scenario", "test_scenario"),
    "held-out individual (F)": ("train_individual", "test_individual"),
}


def bench_config(out: Path, name: str, train_step: int, test_step: int) -> Path:
    """The model's config with the benchmark's sampling: every train_step-th / test_step-th labelled window."""
    path = out / f"bench_{name}"
    path.write_text(
        f"_base_ = [{str(models_dir() / 'dmsd' / name)!r}]\n"
        f"train_dataloader = dict(dataset=dict(sample_step={train_step}))\n"
        f"test_dataloader = dict(dataset=dict(sample_step={test_step}))\n"
    )
    return path


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=40.0)
    parser.add_argument("--train-step", type=int, default=10)
    parser.add_argument("--test-step", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0, help="Training seed (the arena is always seed 0).")
    args = parser.parse_args()
    torch.set_num_threads(1)
    args.out.mkdir(parents=True, exist_ok=True)
    store, labelled = args.out / "arena.h5", args.out / "arena_labelled.h5"
    started = time.perf_counter()
    generate(store, sessions=2, seconds=args.seconds, size=args.size, seed=0)
    counts = label_store(store, labelled)
    print(f"arena + labels in {time.perf_counter() - started:.0f} s: {counts}")
    rows, results = [], {"args": {k: str(v) for k, v in vars(args).items()}, "label_counts": counts, "runs": []}
    for protocol, (train_split, test_split) in PROTOCOLS.items():
        cv = None
        for model, config in MODELS.items():
            r = train(
                labelled,
                args.out / f"{model.split()[0].lower()}_{train_split}",
                config=bench_config(args.out, config, args.train_step, args.test_step),
                train_split=train_split,
                test_split=test_split,
                epochs=args.epochs,
                seed=args.seed,
            )
            results["runs"].append({"protocol": protocol, "model": model, **r})
            rows.append((protocol, model, r))
            cv = r["constant_velocity"]
        rows.append(
            (
                protocol,
                "constant velocity (no learning)",
                {**cv, "train_seconds": 0.0, "test_windows": r["test_windows"], "train_windows": 0},
            )
        )
    print("| protocol | model | top-1 % | mean class % | class std | train windows | test windows | train s |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for protocol, model, r in rows:
        print(
            f"| {protocol} | {model} | {r['top1']:.1f} | {r['mean_class_acc']:.1f} | {r['class_acc_std']:.1f} | "
            f"{r['train_windows']} | {r['test_windows']} | {r['train_seconds']:.0f} |"
        )
    (args.out / "bench_dmsd.json").write_text(json.dumps(results, indent=1))
    print(f"total {time.perf_counter() - started:.0f} s -> {args.out / 'bench_dmsd.json'}")


if __name__ == "__main__":
    main()
