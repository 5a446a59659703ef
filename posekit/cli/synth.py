"""``posekit synth views``: training data for the motion generator; ``posekit synth untrimmed``: long labelled
sequences for action segmentation (thesis ch. 4). numpy, h5py and torch are imported inside the commands."""

from __future__ import annotations

from pathlib import Path

import click

from ..outputs import force_option, refuse_existing
from ..synth import THESIS_YAWS

DEFAULT_YAWS = ",".join(str(yaw) for yaw in THESIS_YAWS)


def _degrees(value: str) -> tuple[float, ...]:
    try:
        return tuple(float(v) for v in value.split(",") if v.strip())
    except ValueError:
        raise click.BadParameter(f"{value!r}: expected comma-separated degrees, e.g. {DEFAULT_YAWS}") from None


@click.group()
def synth():
    """Synthetic training data made from 3D skeleton stores."""


@synth.command()
@click.argument("store", type=click.Path(exists=True, path_type=Path))
@click.option("-o", "--output", required=True, type=click.Path(path_type=Path), help="2D store to write (.h5).")
@click.option(
    "--bodies",
    type=click.IntRange(min=1),
    default=4,
    show_default=True,
    help="Random body proportions; every motion is rendered on each.",
)
@click.option(
    "--views",
    default=DEFAULT_YAWS,
    show_default=True,
    help="Camera yaws in degrees about the vertical axis (the thesis: -90..90 in steps of 30).",
)
@click.option(
    "--pitch",
    default="0",
    show_default=True,
    help="Camera pitches in degrees (comma-separated; positive: from above); each yaw is rendered at each.",
)
@click.option(
    "--scale-range",
    type=(float, float),
    default=(0.75, 1.25),
    show_default=True,
    metavar="LO HI",
    help="Range of each bone's scale (left and right bones share theirs).",
)
@click.option(
    "--split",
    help="Render only the clips of this split (e.g. train, so no test clip leaks into "
    "pre-training); default: every clip.",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the body proportions.")
@force_option()
def views(store, output, bodies, views, pitch, scale_range, split, seed, force):
    """Render every motion of a 3D STORE on random bodies from several camera views, in 2D.

    Each output clip records its motion_id, body_id and view_id (/features), so any two renders A and B have a third
    as the ground truth of A's motion on B's body and view. Projection: orthographic, metres, y down."""
    from ..synth.render import synth_views

    refuse_existing(output, force=force)
    summary = synth_views(
        store,
        output,
        bodies=bodies,
        yaws=_degrees(views),
        pitches=_degrees(pitch),
        scale_range=scale_range,
        split=split,
        seed=seed,
    )
    click.echo(
        f"rendered {summary['motions']} motions x {summary['bodies']} bodies x {summary['views']} views = "
        f"{summary['clips']} 2D clips -> {output} (/features: motion_id, body_id, view_id, body_scales, "
        f"view_angles)"
    )


@synth.command()
@click.argument("store", type=click.Path(exists=True, path_type=Path))
@click.option("-o", "--output", required=True, type=click.Path(path_type=Path), help="Untrimmed store to write (.h5).")
@click.option(
    "--clips-per-sequence",
    type=click.IntRange(min=1),
    default=8,
    show_default=True,
    help="Clips chained into each sequence (a split's last sequence may have fewer).",
)
@click.option(
    "--transition",
    type=click.IntRange(min=0),
    default=5,
    show_default=True,
    help="Frames between two clips, interpolated from one pose to the next and labelled background.",
)
@click.option(
    "--split",
    "splits",
    multiple=True,
    help="Build the sequences of this split only (repeat for several); default: every split.",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the order of the clips.")
@force_option()
def untrimmed(store, output, clips_per_sequence, transition, splits, seed, force):
    """Chain the clips of STORE into long sequences labelled frame by frame, for action segmentation
    (posekit train segment).

    A sequence takes the clips of one split and keeps that split, so test clips stay test; all persons,
    coordinates and dimensions are kept as in STORE. /frames/labels holds each frame's classes (none in a
    transition), /clips/source each sequence's clips and where their frames went (JSON)."""
    from ..synth.untrimmed import synth_untrimmed

    refuse_existing(output, force=force)
    summary = synth_untrimmed(
        store, output, clips_per_sequence=clips_per_sequence, transition=transition, splits=splits, seed=seed
    )
    sequences = ", ".join(f"{count} {split}" for split, count in summary["sequences"].items())
    skipped = f" ({summary['skipped']} unlabelled or empty clips left out)" if summary["skipped"] else ""
    click.echo(
        f"chained {summary['clips']} clips{skipped} into sequences ({sequences}) of {summary['frames']} "
        f"frames, {summary['background_frames']} of them background transitions -> {output} "
        f"(/frames/labels: per-frame classes; /clips/source: each sequence's clips)"
    )


COMMANDS = (synth,)
