"""``posekit rodent label`` / ``posekit rodent arena`` and ``posekit train dmsd``: RatPose-style future-position
prediction (RatPose / DMSD). numpy, h5py, cv2 and torch are imported inside the commands."""
from __future__ import annotations

from pathlib import Path

import click

from ..cli_options import report, run_trainer, trainer_options
from ..outputs import refuse_existing

CONVENTION_NAMES = ("screen", "screen-y-up", "paper", "paper-y-up")


@click.command()
@click.argument("store", type=click.Path(path_type=Path))
@click.option("-o", "--output", required=True, type=click.Path(path_type=Path), help="Labelled store to write (.h5).")
@click.option("--horizon", type=float, default=3.0, show_default=True, help="Seconds ahead (the paper: 3 s).")
@click.option("--radius", type=float, default=0.1, show_default=True,
              help="Middle radius as a fraction of the longer image side (the paper: 1/10).")
@click.option("--convention", type=click.Choice(CONVENTION_NAMES), default="screen", show_default=True,
              help="screen: classes name the direction seen on the image; paper: the RatPose paper's angle table taken "
                   "literally; -y-up: coordinates whose y axis points up (data_schemas/ratpose.md).")
@click.option("--image-size", type=(int, int), metavar="WIDTH HEIGHT",
              help="Frame size for clips whose store does not record it (keypoint files).")
@click.option("--force", is_flag=True, help="Replace OUTPUT if it exists.")
def label(store, output, horizon, radius, convention, image_size, force):
    """Label every frame of STORE with where the animal is HORIZON seconds later: up, down, left, right or middle."""
    from .ratpose import label_store

    refuse_existing(output, force=force)
    counts = label_store(store, output, horizon=horizon, radius=radius, convention=convention,
                         image_size=image_size)
    summary = ", ".join(f"{name} {n}" for name, n in counts.items())
    click.echo(f"labelled {store} ({horizon:g} s ahead, radius {radius:g} of the image, {convention}): {summary}\n"
               f"-> {output} (/frames/labels)")


@click.command()
@click.option("-o", "--output", required=True, type=click.Path(path_type=Path), help="Store to write (.h5).")
@click.option("--sessions", type=int, default=2, show_default=True, help="Sessions per scenario and individual.")
@click.option("--seconds", type=float, default=60.0, show_default=True, help="Length of each session.")
@click.option("--fps", type=float, default=10.0, show_default=True)
@click.option("--size", type=int, default=64, show_default=True, help="Frame width and height in pixels.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--force", is_flag=True, help="Replace OUTPUT and its frames file OUTPUT_frames.h5 if they exist.")
def arena(output, sessions, seconds, fps, size, seed, force):
    """Generate a synthetic RatPose-style benchmark: 5 scenarios x 6 rats x SESSIONS, positions and frames."""
    from .arena import frames_path, generate

    refuse_existing(output, frames_path(output), force=force)
    summary = generate(output, sessions=sessions, seconds=seconds, fps=fps, size=size, seed=seed)
    click.echo(f"generated {summary['clips']} sessions, {summary['frames']} frames of {size}x{size} px "
               f"-> {summary['store']} (positions, boxes, scenario/session/individual in /clips/text), "
               f"{summary['frames_file']} (frames)")


@click.command()
@trainer_options(store_help="Labelled RatPose-style store (posekit rodent label); frames from the file /clips/source "
                            "names. --data is its old name.", store_aliases=("--data",),
                 outputs="Checkpoints, log, metrics.json, scores.pkl and confusion.png",
                 default_config="dmsd/dmsd_1xb16_arena.py; dmsd/tsm_1xb16_arena.py is the single-stream baseline")
@click.option("--train-split", default="train_scenario", show_default=True)
@click.option("--test-split", default="test_scenario", show_default=True)
def dmsd(**options):
    """DMSD (RatPose / DMSD): future-position prediction from video; also scores constant-velocity extrapolation."""
    r = run_trainer("dmsd", **options)
    cv = r["constant_velocity"]
    report(f"trained {r['model']} on {options['store']} [{r['train_split']}] in {r['train_seconds']:.0f} s; "
           f"{r['test_split']} ({r['test_windows']} windows): top-1 {r['top1']:.2f}%, mean class "
           f"{r['mean_class_acc']:.2f}% (std {r['class_acc_std']:.2f}); constant velocity: top-1 {cv['top1']:.2f}%, "
           f"mean class {cv['mean_class_acc']:.2f}%", options["work_dir"] / "metrics.json", r["checkpoint"])


COMMANDS = (label, arena)
TRAIN_COMMANDS = (dmsd,)
