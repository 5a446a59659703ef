"""Does contrastive pre-training help UNIK? The grid of issue 20 on one store, run through the public commands.

Arms: from scratch, and pre-trained with `augment` (the control), `compose` (LAC) and `retarget` (ViA) positives;
each evaluated three ways: linear (frozen encoder), fine-tuned, and fine-tuned on a fraction of the labels.
Every run is `posekit train pretrain` or `posekit train unik` in its own work dir; a run whose metrics.json exists
is skipped, so an interrupted grid resumes where it stopped; `--only` runs some cells (and the encoders they
need). Runs go in parallel, one thread each, pre-training first because every evaluation of a pre-trained arm waits
for it.

    python tools/bench_pretrain.py --store ucla.h5 --project-2d --generator mg/epoch_36.pth --out grid \
        --pretrain-epochs 5 --eval-epochs 10 --jobs 2

With --rotation-reference (a 3D store read with --project-2d), also the privileged reference: from scratch with
random 3D camera views before the projection (unik/unik_1xb16-joint-rotate3d_store.py), fine-tuned and on the label
fraction (a trained model, so no linear cell).

With --segment-store U.h5 (from `posekit synth untrimmed`), also action segmentation from scratch and from each
pre-training, and from an `augment` encoder pre-trained with the sequence-level term only (Table 4.7's ablation).
With --tmor HEAD (a store with captions and text embeddings: `posekit text caption`, `posekit text embed`), also
Table 6.7's ablation (thesis ch. 6): T-MOR encoders trained with the text term (`tmor-text`) and without it
(`tmor-motion`, --text-weight 0), with that text head. With --supervised, also an encoder trained with
cross-entropy on the labels for the same epochs (`supervised`: Table 6.7's cross-entropy row).

The tables (top-1, frame accuracy, mAP on the test splits, %) are printed and written to OUT/table.md.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

POSITIVES = ("augment", "compose", "retarget")
TEXT_ARMS = ("tmor-motion", "tmor-text")
POSEKIT = [sys.executable, "-m", "posekit.cli"]
EVALUATIONS = ("linear", "fraction", "finetune")
ROTATION_CONFIG = "unik/unik_1xb16-joint-rotate3d_store.py"  # scratch with random 3D camera views, then 2D


@dataclass
class Job:
    name: str
    argv: list[str]
    work_dir: Path
    needs: list[str] = field(default_factory=list)

    @property
    def done(self) -> bool:
        return (self.work_dir / "metrics.json").is_file()


def build_jobs(args: argparse.Namespace) -> list[Job]:
    common = ["--store", str(args.store), "--seed", str(args.seed), "--workers", "0"]
    if args.project_2d:
        common.append("--project-2d")
    jobs = [Job(f"pretrain-{arm}", argv, args.out / f"pretrain-{arm}") for arm, argv in encoder_commands(args, common)]
    evaluation_options = {
        "linear": ["--linear", "--epochs", str(args.eval_epochs)],
        "finetune": ["--epochs", str(args.eval_epochs)],
        "fraction": ["--label-fraction", str(args.label_fraction), "--epochs", str(args.fraction_epochs)],
    }
    for evaluation in evaluations(args):
        for arm in ("scratch", *pretrained_arms(args)):
            argv = [*POSEKIT, "train", "unik", *common, *evaluation_options[evaluation]]
            needs = []
            if arm != "scratch":
                argv += ["--init", str(args.out / f"pretrain-{arm}" / "best.pth")]
                needs = [f"pretrain-{arm}"]
            jobs.append(Job(f"{evaluation}-{arm}", argv, args.out / f"{evaluation}-{arm}", needs))
    if args.rotation_reference:
        for evaluation in set(evaluations(args)) - {"linear"}:  # a reference trained, not a frozen encoder
            argv = [*POSEKIT, "train", "unik", *common, *evaluation_options[evaluation], "--config", ROTATION_CONFIG]
            jobs.append(Job(f"{evaluation}-rotation3d", argv, args.out / f"{evaluation}-rotation3d"))
    if args.segment_store:
        jobs += segmentation_jobs(args)
    return jobs


def only(jobs: list[Job], names: list[str]) -> list[Job]:
    """The jobs named and, transitively, those they need: one cell of the grid runs with its encoder."""
    by_name = {job.name: job for job in jobs}
    unknown = [name for name in names if name not in by_name]
    if unknown:
        raise SystemExit(f"--only {','.join(unknown)}: no such run in this grid; its runs: {', '.join(by_name)}")
    wanted, stack = set(), list(names)
    while stack:
        name = stack.pop()
        if name not in wanted:
            wanted.add(name)
            stack += by_name[name].needs
    return [job for job in jobs if job.name in wanted]


def evaluations(args: argparse.Namespace) -> list[str]:
    """The evaluations of the encoders asked for ('' for none: pre-training and segmentation only)."""
    return [evaluation for evaluation in args.evaluations.split(",") if evaluation]


def pretrained_arms(args: argparse.Namespace) -> list[str]:
    """The encoders trained before evaluation, in the order of the table."""
    arms = [positives for positives in args.positives.split(",") if positives]
    arms += list(TEXT_ARMS) if args.tmor else []
    return arms + (["supervised"] if args.supervised else [])


def encoder_commands(args: argparse.Namespace, common: list[str]) -> list[tuple[str, list[str]]]:
    """Per pre-trained arm, the command that trains its encoder for --pretrain-epochs."""
    epochs = ["--epochs", str(args.pretrain_epochs)]
    commands = []
    for arm in pretrained_arms(args):
        if arm in POSITIVES:
            argv = [*POSEKIT, "train", "pretrain", *common, "--positives", arm, *epochs]
            argv += ["--generator", str(args.generator)] if arm != "augment" else []
        elif arm in TEXT_ARMS:
            argv = [*POSEKIT, "train", "tmor", *common, "--text-head", args.tmor, *epochs]
            argv += ["--text-weight", "0"] if arm == "tmor-motion" else []
        else:  # supervised: the labels and cross-entropy, the store config's schedule cut to the same epochs
            argv = [*POSEKIT, "train", "unik", *common, *epochs]
        commands.append((arm, argv))
    return commands


def segmentation_jobs(args: argparse.Namespace) -> list[Job]:
    """Segmentation on untrimmed sequences from scratch and from each pre-training, plus Table 4.7's ablation: the
    `augment` encoder pre-trained with the sequence-level term only (frame weight 0)."""
    common = ["--store", str(args.segment_store), "--seed", str(args.seed), "--workers", "0"]
    common += ["--epochs", str(args.segment_epochs)] + (["--project-2d"] if args.project_2d else [])
    sequence_only = [*POSEKIT, "train", "pretrain", "--store", str(args.store), "--seed", str(args.seed)]
    sequence_only += ["--workers", "0", "--positives", "augment", "--epochs", str(args.pretrain_epochs)]
    sequence_only += ["--frame-weight", "0"] + (["--project-2d"] if args.project_2d else [])
    jobs = [Job("pretrain-augment-sequence", sequence_only, args.out / "pretrain-augment-sequence")]
    for arm in ("scratch", *pretrained_arms(args), "augment-sequence"):
        argv, needs = [*POSEKIT, "train", "segment", *common], []
        if arm != "scratch":
            argv += ["--init", str(args.out / f"pretrain-{arm}" / "best.pth")]
            needs = [f"pretrain-{arm}"]
        jobs.append(Job(f"segment-{arm}", argv, args.out / f"segment-{arm}", needs))
    return jobs


def run_job(job: Job) -> tuple[Job, int, float]:
    job.work_dir.parent.mkdir(parents=True, exist_ok=True)
    start = time.monotonic()
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    with open(job.work_dir.with_suffix(".log"), "w") as log:
        argv = ["nice", "-n", "19", *job.argv, "--work-dir", str(job.work_dir)]
        code = subprocess.call(argv, stdout=log, stderr=log, env=env)
    return job, code, time.monotonic() - start


def run_grid(jobs: list[Job], parallel: int) -> None:
    pending = [job for job in jobs if not job.done]
    finished = {job.name for job in jobs if job.done}
    failed: set[str] = set()
    running = {}
    with ThreadPoolExecutor(parallel) as pool:
        while pending or running:
            for job in [j for j in pending if any(n in failed for n in j.needs)]:
                pending.remove(job)
                failed.add(job.name)
                print(f"skip {job.name}: a run it needs failed", flush=True)
            ready = [j for j in pending if all(n in finished for n in j.needs)]
            while ready and len(running) < parallel:
                job = ready.pop(0)
                pending.remove(job)
                if job.done:  # made meanwhile by another grid sharing the run (a linked work dir)
                    finished.add(job.name)
                    continue
                running[pool.submit(run_job, job)] = job
                print(f"start {job.name}", flush=True)
            if not running:
                if any(all(n in finished for n in j.needs) for j in pending):
                    continue  # a skipped job freed others
                break
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                job, code, seconds = future.result()
                del running[future]
                (finished if code == 0 else failed).add(job.name)
                status = "done" if code == 0 else f"FAILED (exit {code}, see {job.work_dir.with_suffix('.log')})"
                print(f"{status} {job.name} in {seconds / 60:.1f} min", flush=True)


def figure(work_dir: Path, key: str) -> str:
    """A percentage of a run's metrics.json, or '-' for a run not (yet) made."""
    path = work_dir / "metrics.json"
    value = json.loads(path.read_text()).get(key) if path.is_file() else None
    return "-" if value is None else f"{value:.1f}"


def table(args: argparse.Namespace) -> str:
    fraction = f"fine-tuned, {args.label_fraction:.0%} labels"
    lines = [f"| arm | linear | fine-tuned | {fraction} |", "|---|---:|---:|---:|"]
    arms = ["scratch", *pretrained_arms(args)] + (["rotation3d"] if args.rotation_reference else [])
    for arm in arms:
        cells = [figure(args.out / f"{evaluation}-{arm}", "top1") for evaluation in ("linear", "finetune", "fraction")]
        lines.append(f"| {arm} | " + " | ".join(cells) + " |")
    if args.segment_store:
        lines += ["", "| segmentation from | frame accuracy | mAP |", "|---|---:|---:|"]
        for arm in ("scratch", *pretrained_arms(args), "augment-sequence"):
            cells = [figure(args.out / f"segment-{arm}", key) for key in ("frame_acc", "mAP")]
            lines.append(f"| {arm} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", type=Path, required=True)
    parser.add_argument("--generator", type=Path, help="posekit train motion-generator checkpoint (compose, retarget)")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--project-2d", action="store_true")
    parser.add_argument("--pretrain-epochs", type=int, default=20)
    parser.add_argument("--eval-epochs", type=int, default=20)
    parser.add_argument("--fraction-epochs", type=int, default=60)
    parser.add_argument("--label-fraction", type=float, default=0.1)
    parser.add_argument(
        "--positives", default=",".join(POSITIVES), help="the pre-trained arms, beside scratch ('' for none)"
    )
    parser.add_argument("--tmor", metavar="HEAD", help="also T-MOR with and without its text term, this text head")
    parser.add_argument("--supervised", action="store_true", help="also an encoder trained with cross-entropy")
    parser.add_argument(
        "--evaluations",
        default=",".join(EVALUATIONS),
        help=f"comma-separated, of {', '.join(EVALUATIONS)} ('' for none)",
    )
    parser.add_argument(
        "--rotation-reference",
        action="store_true",
        help="also from scratch with random 3D camera views before the 2D projection (a 3D store with --project-2d)",
    )
    parser.add_argument("--segment-store", type=Path, help="untrimmed store (posekit synth untrimmed): segmentation")
    parser.add_argument("--segment-epochs", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--only", help="comma-separated runs of the grid (e.g. linear-retarget), with the encoders they need"
    )
    parser.add_argument("--jobs", type=int, default=2, help="runs in parallel, one thread each")
    args = parser.parse_args(argv)
    if args.generator is None and {"compose", "retarget"} & set(args.positives.split(",")):
        parser.error("--generator is needed for the compose and retarget arms (or leave them out of --positives)")
    jobs = build_jobs(args)
    run_grid(only(jobs, args.only.split(",")) if args.only else jobs, args.jobs)
    text = table(args)
    (args.out / "table.md").write_text(text)
    print(text + f"written to {args.out / 'table.md'}")


if __name__ == "__main__":
    main()
