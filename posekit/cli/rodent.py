"""``posekit rodent ...``: detect and track animals in videos (detect), label future positions and make a
synthetic arena (label, arena; RatPose), clean keypoint files and measure movement (kinematics). Heavy modules
are imported inside the commands."""

from __future__ import annotations

import math
from pathlib import Path

import click

from ..errors import PosekitError
from ..locks import output_lock
from ..outputs import force_option, refuse_existing


@click.group()
def rodent():
    """Rodents: detect and track animals in videos, label future positions, kinematics of keypoint files."""


@rodent.command()
@click.argument("inputs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("-o", "--output", required=True, type=click.Path(path_type=Path), help="Store of tracks to write (.h5).")
@click.option(
    "--model",
    type=click.Path(path_type=Path),
    help="Apply this trained detector (a .detector.pth) instead of training one on INPUTS.",
)
@click.option(
    "--save-model",
    type=click.Path(path_type=Path),
    help="Where to save the trained detector [default: OUTPUT's name + .detector.pth].",
)
@click.option(
    "--rounds",
    type=click.IntRange(0, 10),
    default=2,
    show_default=True,
    help="Bootstrapping rounds after the motion-trained FCN_0 (LSTM self-supervision of rodent behaviour, "
    "Brattoli et al. 2017, converged after 2).",
)
@click.option("--device", default="cpu", show_default=True, help="cpu, cuda or cuda:N (AMP and batching on CUDA).")
@click.option("--max-animals", type=click.IntRange(1, 16), default=1, show_default=True, help="Animals per video.")
@click.option(
    "--iters",
    type=click.IntRange(1),
    default=300,
    show_default=True,
    help="Training iterations per round (batches of 16 frames on CPU, 64 on CUDA).",
)
@click.option(
    "--size",
    type=click.IntRange(32, 1024),
    default=160,
    show_default=True,
    help="Work square the frames are shrunk to (a multiple of 4; the animal should be >= ~15 px there).",
)
@force_option("Replace OUTPUT and the detector file if they exist.")
def detect(inputs, output, model, save_model, rounds, device, max_animals, iters, size, force):
    """Find, track and orient the animal(s) in videos or folders of still images (one clip per folder,
    frames in name order). Without --model, a detector is trained on INPUTS from motion alone and saved."""
    from ..rodent.detection.detect import detector_path, run

    if size % 4:
        raise PosekitError(f"--size {size}: must be a multiple of 4 (the detector's output stride)")
    if model is not None and save_model is not None:
        raise PosekitError("--save-model: nothing is trained when --model is given")
    trained = None if model is not None else save_model or detector_path(output)
    with output_lock(output, "rodent detect"):
        refuse_existing(output, trained, force=force)
        summary = run(
            inputs,
            output,
            model=model,
            save_model=save_model,
            rounds=rounds,
            device=device,
            max_animals=max_animals,
            size=size,
            iters=iters,
        )
    for source, frames, detected in zip(summary["sources"], summary["frames"], summary["detected"]):
        click.echo(f"{source}: animal found in {detected} of {frames} frames")
    if summary["detector"] is not None:
        click.echo(f"trained detector ({rounds} bootstrapping rounds) -> {summary['detector']}")
    clips = summary["clips"]
    click.echo(f"tracks of {clips} clip{'s' if clips != 1 else ''} (layout rodent-detector) -> {output}")


@rodent.command()
@click.argument("source", metavar="INPUT", type=click.Path(exists=True, path_type=Path))
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(path_type=Path),
    help="Output prefix: OUT.h5 (cleaned store), OUT_kinematics.csv, OUT_per_minute.csv, OUT_summary.csv, OUT.png.",
)
@click.option(
    "--format", "fmt", help="Format of INPUT when it is not a store (dlc, sleap, nwb...; as for posekit convert)."
)
@click.option("--min-confidence", type=float, help="Joints scored below this become missing (e.g. 0.6).")
@click.option(
    "--max-gap",
    type=int,
    default=0,
    show_default=True,
    help="Interpolate linearly over gaps of at most this many frames; longer gaps stay missing.",
)
@click.option(
    "--smooth",
    "smoother",
    type=click.Choice(["savgol", "median", "none"]),
    default="savgol",
    show_default=True,
    help="Smoother, run on each unbroken stretch of a joint's track.",
)
@click.option("--window", type=int, default=7, show_default=True, help="Smoothing window in frames (odd).")
@click.option(
    "--body-centre",
    help="Comma-separated joints whose mean is the body centre (default: all joints). A joint missing in a frame "
    "is placed where the animal's median body shape, fitted to the joints present, carries it, so the centre does "
    "not jump when a part appears or vanishes; a frame with under half the joints has no centre.",
)
@click.option("--head", help="Joint the heading points to (default: a joint named snout, nose or head).")
@click.option("--tail", help="Joint the heading starts from (default: a tail-base joint, else the body centre).")
@click.option("--fps", type=float, help="Frame rate; needed when the input does not record it (DLC files).")
@click.option(
    "--moving-speed",
    type=float,
    default=20.0,
    show_default=True,
    help="Body-centre speed (units per second) above which a frame counts as moving.",
)
@click.option(
    "--table-format",
    type=click.Choice(["csv", "hdf5"]),
    default="csv",
    show_default=True,
    help="hdf5: the three tables in one OUT_kinematics.h5 (pandas keys kinematics, per_minute, summary).",
)
@click.option("--force", is_flag=True, help="Replace existing outputs.")
def kinematics(
    source,
    output,
    fmt,
    min_confidence,
    max_gap,
    smoother,
    window,
    body_centre,
    head,
    tail,
    fps,
    moving_speed,
    table_format,
    force,
):
    """Clean the keypoints of INPUT (a store, or a file of --format) and measure each animal's movement."""
    from ..convert import as_store
    from ..errors import PosekitError
    from ..rodent.kinematics.store import Options, outputs, run

    if window < 1 or max_gap < 0:
        raise PosekitError("--window must be at least 1 and --max-gap at least 0")
    options = Options(
        min_confidence=min_confidence,
        max_gap=max_gap,
        smoother=smoother,
        window=window,
        body_centre=tuple(j.strip() for j in body_centre.split(",")) if body_centre else (),
        head=head,
        tail=tail,
        fps=fps,
        moving_speed=moving_speed,
        table_format=table_format,
    )
    refuse_existing(*outputs(output, table_format).values(), force=force)
    with as_store(source, fmt) as store:
        result = run(store, output, options, source=source)
    heading = f"heading {result['head']} <- {result['tail']}" if result["head"] else "no heading (give --head)"
    click.echo(
        f"cleaned {result['total']} joints: {result['removed']} below confidence removed, "
        f"{result['filled']} filled, {result['missing']} still missing; body centre: "
        f"{_joints(result['body_centre'])}; {heading}"
    )
    for row in result["summary"].itertuples():
        speed = (
            f"mean speed {row.mean_speed:.1f}/s"
            if math.isfinite(row.mean_speed)
            else "no speed (no two successive frames with a position)"
        )
        click.echo(
            f"  {row.clip} #{row.individual}: {row.duration_s:.1f} s, path {row.path_length:.0f}, {speed}, "
            f"moving {row.moving_s:.1f} s, still {row.still_s:.1f} s"
        )
    click.echo("-> " + ", ".join(str(p) for p in result["paths"].values()))


def _joints(value) -> str:
    return value if isinstance(value, str) else ", ".join(value)


CONVENTION_NAMES = ("screen", "screen-y-up", "paper", "paper-y-up")


@rodent.command()
@click.argument("store", type=click.Path(path_type=Path))
@click.option("-o", "--output", required=True, type=click.Path(path_type=Path), help="Labelled store to write (.h5).")
@click.option("--horizon", type=float, default=3.0, show_default=True, help="Seconds ahead (the paper: 3 s).")
@click.option(
    "--radius",
    type=float,
    default=0.1,
    show_default=True,
    help="Middle radius as a fraction of the longer image side (the paper: 1/10).",
)
@click.option(
    "--convention",
    type=click.Choice(CONVENTION_NAMES),
    default="screen",
    show_default=True,
    help="screen: classes name the direction seen on the image; paper: the RatPose paper's angle table taken "
    "literally; -y-up: coordinates whose y axis points up (data_schemas/ratpose.md).",
)
@click.option(
    "--image-size",
    type=(int, int),
    metavar="WIDTH HEIGHT",
    help="Frame size for clips whose store does not record it (keypoint files).",
)
@click.option("--force", is_flag=True, help="Replace OUTPUT if it exists.")
def label(store, output, horizon, radius, convention, image_size, force):
    """Label every frame of STORE with where the animal is HORIZON seconds later: up, down, left, right or middle."""
    from ..rodent.ratpose.labels import label_store

    refuse_existing(output, force=force)
    counts = label_store(store, output, horizon=horizon, radius=radius, convention=convention, image_size=image_size)
    summary = ", ".join(f"{name} {n}" for name, n in counts.items())
    click.echo(
        f"labelled {store} ({horizon:g} s ahead, radius {radius:g} of the image, {convention}): {summary}\n"
        f"-> {output} (/frames/labels)"
    )


@rodent.command()
@click.option("-o", "--output", required=True, type=click.Path(path_type=Path), help="Store to write (.h5).")
@click.option("--sessions", type=int, default=2, show_default=True, help="Sessions per scenario and individual.")
@click.option("--seconds", type=float, default=60.0, show_default=True, help="Length of each session.")
@click.option("--fps", type=float, default=10.0, show_default=True)
@click.option("--size", type=int, default=64, show_default=True, help="Frame width and height in pixels.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--force", is_flag=True, help="Replace OUTPUT and its frames file OUTPUT_frames.h5 if they exist.")
def arena(output, sessions, seconds, fps, size, seed, force):
    """Generate a synthetic RatPose-style benchmark: 5 scenarios x 6 rats x SESSIONS, positions and frames."""
    from ..rodent.ratpose.arena import frames_path, generate

    refuse_existing(output, frames_path(output), force=force)
    summary = generate(output, sessions=sessions, seconds=seconds, fps=fps, size=size, seed=seed)
    click.echo(
        f"generated {summary['clips']} sessions, {summary['frames']} frames of {size}x{size} px "
        f"-> {summary['store']} (positions, boxes, scenario/session/individual in /clips/text), "
        f"{summary['frames_file']} (frames)"
    )


COMMANDS = (rodent,)
