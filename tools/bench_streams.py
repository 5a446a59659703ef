"""The recognition grid of pyskl / CTR-GCN practice: each stream and the weighted fusion, per model and dataset,
through `posekit train MODEL --streams` (one command per model and dataset; finished streams are skipped, so an
interrupted grid resumes where it stopped).

    python tools/bench_streams.py --store nw-ucla=ucla.h5 --store penn-action=penn.h5 --out runs/streams

Per dataset D and model M it runs

    posekit train M --store STORE --config M/M_1xb16-joint_D.py --streams S --work-dir OUT/D/M --seed SEED

with S the four streams (joint, bone, joint-motion, bone-motion; fused 2:2:1:1) for UNIK and CTR-GCN and joint + bone
for ST-GCN. The three models share each dataset's pipeline and schedule (the CTR-GCN and ST-GCN configs take UNIK's),
so the networks are what differ. `--epochs` shortens every schedule alike; `--amp` trains in mixed precision. Runs go
in parallel (`--jobs`), one thread each on a CPU. The table (test top-1 %, each stream and the fusion) is printed and
written to OUT/table.md; `--dry-run` prints the commands only.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

FOUR_STREAMS = ("joint", "bone", "joint-motion", "bone-motion")
STREAMS = {"unik": FOUR_STREAMS, "ctrgcn": FOUR_STREAMS, "stgcn": ("joint", "bone")}
DATASETS = ("nw-ucla", "penn-action")


def commands(args: argparse.Namespace) -> list[tuple[Path, list[str]]]:
    """(work dir, argv) of each model and dataset, in the order given."""
    runs = []
    for dataset, store in args.stores.items():
        for model in args.models:
            work_dir = args.out / dataset / model
            argv = [sys.executable, "-m", "posekit.cli", "train", model, "--store", str(store)]
            argv += ["--config", f"{model}/{model}_1xb16-joint_{dataset}.py", "--streams", ",".join(STREAMS[model])]
            argv += ["--work-dir", str(work_dir), "--seed", str(args.seed), "--workers", str(args.workers)]
            argv += ["--epochs", str(args.epochs)] if args.epochs else []
            argv += ["--amp"] if args.amp else []
            runs.append((work_dir, argv))
    return runs


def run(work_dir: Path, argv: list[str]) -> int:
    """One model's streams, its output in OUT/D/M.log; skipped when its fusion exists."""
    if (work_dir / "metrics.json").is_file():
        return 0
    work_dir.parent.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "1"))
    with open(work_dir.with_suffix(".log"), "a") as log:
        return subprocess.call(argv, stdout=log, stderr=subprocess.STDOUT, env=env)


def top1(path: Path) -> str:
    """A metrics.json's test top-1 as a table cell, or '-' when the run is not (yet) there."""
    return f"{json.loads(path.read_text())['top1']:.1f}" if path.is_file() else "-"


def table(args: argparse.Namespace) -> str:
    """Markdown: per dataset and model, each stream's test top-1 and the fusion's (from the runs' metrics.json)."""
    lines = ["| dataset | model | " + " | ".join(FOUR_STREAMS) + " | fused |", "|---|---|" + "---:|" * 5]
    for dataset in args.stores:
        for model in args.models:
            work_dir = args.out / dataset / model
            cells = [top1(work_dir / s / "metrics.json") if s in STREAMS[model] else "" for s in FOUR_STREAMS]
            lines.append(f"| {dataset} | {model} | " + " | ".join(cells) + f" | {top1(work_dir / 'metrics.json')} |")
    return "\n".join(lines) + "\n"


def parse_stores(values: list[str]) -> dict[str, Path]:
    stores = {}
    for value in values:
        dataset, _, path = value.partition("=")
        if dataset not in DATASETS or not path:
            raise SystemExit(f"--store {value!r}: give DATASET=STORE with DATASET one of {', '.join(DATASETS)}")
        stores[dataset] = Path(path)
    return stores


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", action="append", required=True, help="DATASET=STORE, e.g. nw-ucla=ucla.h5")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--models", default="unik,ctrgcn,stgcn")
    parser.add_argument("--epochs", type=int, help="Every schedule shortened to this many epochs.")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=1, help="DataLoader workers per run.")
    parser.add_argument("--amp", action="store_true")
    parser.add_argument("--jobs", type=int, default=1, help="Runs side by side.")
    parser.add_argument("--dry-run", action="store_true", help="Print the commands, run nothing.")
    args = parser.parse_args(argv)
    args.stores = parse_stores(args.store)
    args.models = args.models.split(",")
    unknown = [m for m in args.models if m not in STREAMS]
    if unknown:
        raise SystemExit(f"--models: unknown {unknown[0]!r}; models: {', '.join(STREAMS)}")
    runs = commands(args)
    if args.dry_run:
        for _, argv in runs:
            print(" ".join(argv[2:]))  # without the interpreter: posekit.cli ...
        return
    with ThreadPoolExecutor(args.jobs) as pool:
        codes = list(pool.map(lambda r: run(*r), runs))
    for (work_dir, _), code in zip(runs, codes):
        if code:
            print(f"FAILED (exit {code}): {work_dir}, see {work_dir.with_suffix('.log')}")
    report = table(args)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "table.md").write_text(report)
    print(report + f"-> {args.out / 'table.md'}")


if __name__ == "__main__":
    main()
