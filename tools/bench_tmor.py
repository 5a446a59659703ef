"""Zero-shot and few-shot transfer of T-MOR to unseen Penn Action classes, against a UNIK classifier + ConSE.

Each split s draws 5 of Penn Action's 15 classes as unseen with seed s (the others are seen), then, through the
public commands:

1. a store of the seen classes' clips (their train and test splits, captions kept; `posekit text embed` on it);
2. `posekit train tmor` on its training clips, and `posekit train unik` (cross-entropy) on the same clips;
3. `posekit zeroshot CKPT --store PENN --unseen ...` for both: the unseen classes' test clips, choosing among the 5
   unseen classes (chance 20%), then `--shots 1` and `--shots 5` (5 draws) on the same clips.

The Penn store is /tmp/penn.h5 (converted when absent), copied to OUT before captions and text embeddings are
added (never edited in place). A run whose metrics.json exists is skipped, so an interrupted bench resumes, and
splits run by separate commands (`--splits 3,4`) join one table when a later command names them all (`--splits 5`).
The table (mean class accuracy per split, %, their mean and sample standard deviation) is printed and written to
OUT/table.md.

    OMP_NUM_THREADS=1 python tools/bench_tmor.py --splits 1 --epochs 3 --out /tmp/tmor_bench
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

PENN_SOURCE = Path("/work/shared/data/actions/penn_action")
PENN_STORE = Path("/tmp/penn.h5")
UNSEEN = 5
SHOTS = (1, 5)


def posekit(*args, env: dict) -> None:
    """One posekit command, its output shown; stops the bench if it fails."""
    argv = [sys.executable, "-m", "posekit.cli", *map(str, args)]
    print("$ posekit", " ".join(map(str, args)), flush=True)
    subprocess.run(argv, check=True, env=env)


def penn_with_text(out: Path, encoder: str, env: dict) -> Path:
    """A copy of the Penn store with template captions and text embeddings (made once)."""
    path = out / "penn.h5"
    if path.is_file():
        return path
    if not PENN_STORE.is_file():
        posekit("convert", "penn-action", PENN_SOURCE, "-o", PENN_STORE, env=env)
    copy = out / "penn.partial.h5"
    shutil.copyfile(PENN_STORE, copy)
    from posekit.store import SkeletonStore

    with SkeletonStore(copy) as store:
        captioned, features = any(store.captions()), store.feature_names
    if not captioned:
        posekit("text", "caption", copy, env=env)
    if "text" not in features:
        posekit("text", "embed", copy, "--encoder", encoder, env=env)
    copy.rename(path)
    return path


def unseen_classes(classes: list[str], seed: int) -> list[str]:
    """The 5 classes held out by split ``seed``, in the store's order."""
    drawn = np.random.default_rng(seed).choice(len(classes), size=UNSEEN, replace=False)
    return [classes[k] for k in sorted(drawn)]


def seen_store(penn: Path, path: Path, unseen: list[str], encoder: str, env: dict) -> Path:
    """The seen classes' clips of ``penn`` (splits and captions kept, labels renumbered), text-embedded."""
    if path.is_file():
        return path
    from posekit.store import SkeletonStore, StoreWriter

    partial = path.with_suffix(".partial.h5")
    with SkeletonStore(penn) as store:
        seen = [name for name in store.classes if name not in unseen]
        with StoreWriter(partial, store.layout, coord_dims=store.coord_dims, classes=seen) as writer:
            for index in np.flatnonzero(~np.isin(store.labels, [store.classes.index(u) for u in unseen])):
                clip = store[int(index)]
                writer.add(dataclasses.replace(clip, label=seen.index(store.classes[clip.label]), features={}))
    posekit("text", "embed", partial, "--encoder", encoder, env=env)
    partial.rename(path)
    return path


def run_split(seed: int, penn: Path, args, env: dict) -> dict:
    """Train both models on split ``seed``'s seen classes, transfer both to its unseen ones; their figures."""
    from posekit.store import SkeletonStore

    with SkeletonStore(penn) as store:
        unseen = unseen_classes(list(store.classes), seed)
    root = args.out / f"split{seed}"
    root.mkdir(parents=True, exist_ok=True)
    print(f"split {seed}: unseen {', '.join(unseen)}", flush=True)
    seen = seen_store(penn, root / "seen.h5", unseen, args.encoder, env)
    common = ["--epochs", args.epochs, "--workers", 0, "--seed", seed]
    figures, seconds = {}, {}
    for model in models(args.text_heads):
        work_dir = root / model
        started = time.perf_counter()
        if not (work_dir / "metrics.json").is_file():
            command, head = model.partition("-")[::2]
            options = ["--text-head", head] if head else []
            posekit("train", command, "--store", seen, "--work-dir", work_dir, *common, *options, env=env)
        seconds[f"train {model}"] = time.perf_counter() - started
        transfers = {"zeroshot": []} | {f"{k}-shot": ["--shots", k] for k in SHOTS}
        for name, options in transfers.items():
            out = root / f"{model}-{name}"
            started = time.perf_counter()
            if not (out / "metrics.json").is_file():
                posekit(
                    "zeroshot", work_dir / "best.pth", "--store", penn, "--unseen", ",".join(unseen),
                    "--work-dir", out, *options, env=env,
                )  # fmt: skip
            seconds[f"{model} {name}"] = time.perf_counter() - started
            figures[(model, name)] = json.loads((out / "metrics.json").read_text())
    return {"unseen": unseen, "figures": figures, "seconds": seconds}


def models(text_heads: str) -> list[str]:
    """The work dirs of the encoders: ``tmor`` (the config's MLP text head), ``tmor-HEAD`` for another, ``unik``."""
    return [f"tmor-{h}" if h != "mlp" else "tmor" for h in text_heads.split(",")] + ["unik"]


def table(results: list[dict], seeds: list[int], text_heads: str) -> str:
    """Markdown: per encoder and transfer, the mean class accuracy (%) on each split's unseen test clips (few-shot:
    mean over draws), their mean and sample standard deviation over the splits, and the mean top-1."""
    header = " | ".join(f"split {seed}" for seed in seeds)
    lines = [
        f"| encoder (trained on the 10 seen classes) | transfer to the 5 unseen | {header} | mean ± sd | top-1 |",
        "| --- | --- |" + " ---: |" * (len(seeds) + 2),
    ]
    labels = {"tmor": "T-MOR (eq. 6.3 + 6.6)", "unik": "UNIK cross-entropy (+ ConSE for zero-shot)"}
    labels |= {f"tmor-{h}": f"T-MOR, {h} text head" for h in text_heads.split(",")}
    for model in models(text_heads):
        for name in ["zeroshot"] + [f"{k}-shot" for k in SHOTS]:
            suffix = "" if name == "zeroshot" else "_mean"
            runs = [r["figures"][(model, name)] for r in results]
            mean_class = np.array([r[f"mean_class_acc{suffix}"] for r in runs])
            top1 = np.mean([r[f"top1{suffix}"] for r in runs])
            cells = " | ".join(f"{value:.1f}" for value in mean_class)
            spread = f"{mean_class.mean():.1f} ± {mean_class.std(ddof=1) if len(runs) > 1 else 0.0:.1f}"
            transfer = "zero-shot (nearest class text)" if name == "zeroshot" else f"{name} (nearest prototype)"
            lines.append(f"| {labels[model]} | {transfer} | {cells} | {spread} | {top1:.1f} |")
    return "\n".join(lines)


def split_seeds(text: str) -> list[int]:
    """``N`` -> seeds 0..N-1; ``a,b,...`` -> those seeds."""
    return [int(seed) for seed in text.split(",") if seed] if "," in text else list(range(int(text)))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--splits",
        type=split_seeds,
        default="1",
        help="Seen/unseen splits: N (seeds 0..N-1) or seeds, e.g. 3,4 (one: 3,).",
    )
    parser.add_argument("--epochs", type=int, default=3, help="Training epochs of both models.")
    parser.add_argument("--encoder", default="minilm", help="Text encoder of posekit text embed.")
    parser.add_argument(
        "--text-heads", default="mlp", help="T-MOR text heads to compare (posekit train tmor --text-head), e.g. "
        "mlp,linear,frozen."
    )  # fmt: skip
    parser.add_argument("--out", type=Path, default=Path("/tmp/tmor_bench"))
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
    started = time.perf_counter()
    penn = penn_with_text(args.out, args.encoder, env)
    results = [run_split(seed, penn, args, env) for seed in args.splits]
    report = table(results, args.splits, args.text_heads)
    for seed, result in zip(args.splits, results):
        report += f"\n\nsplit {seed}: unseen {', '.join(result['unseen'])}; seconds: " + ", ".join(
            f"{step} {value:.0f}" for step, value in result["seconds"].items()
        )
    report += f"\n\nwall time {time.perf_counter() - started:.0f} s"
    (args.out / "table.md").write_text(report + "\n")
    print(report)
    print(f"-> {args.out / 'table.md'}")


if __name__ == "__main__":
    main()
