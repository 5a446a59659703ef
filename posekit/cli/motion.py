"""``posekit retarget`` and ``posekit compose``: a trained motion generator (thesis ch. 4) applied to stored clips.
torch is imported inside the commands."""

from __future__ import annotations

from pathlib import Path

import click

from ..locks import output_lock
from ..outputs import force_option, refuse_existing
from .options import trust_checkpoint_option

CLIP_HELP = "a clip id or index"


def _output_option():
    return click.option(
        "-o",
        "--output",
        required=True,
        type=click.Path(path_type=Path),
        help="Store to write (.h5): the inputs and the result as separate clips.",
    )


def _say(verb: str, summary: dict, output: Path) -> None:
    filled = ", ".join(f"{n} in {role}" for role, n in summary["filled"].items() if n)
    click.echo(
        f"{verb} ({summary['frames']} frames"
        + (f"; filled missing joint positions by interpolation: {filled}" if filled else "")
        + f") -> {output}, clips {', '.join(summary['clips'])}; see them with "
        f"posekit show {output} -o {output.with_suffix('.mp4')}"
    )


@click.command()
@click.argument("checkpoint", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--motion", required=True, metavar="STORE:CLIP", help=f"The clip whose motion is kept ({CLIP_HELP}).")
@click.option(
    "--like", required=True, metavar="STORE:CLIP", help=f"The clip whose body and view the result takes ({CLIP_HELP})."
)
@_output_option()
@trust_checkpoint_option()
@force_option()
def retarget(checkpoint, motion, like, output, trust_checkpoint, force):
    """The motion of one clip performed by the body of another, seen from its view: the Motion of --motion decoded
    with the Static of --like by a motion generator CHECKPOINT (posekit train motion-generator)."""
    from ..motion import retarget as run

    with output_lock(output, "retarget"):
        refuse_existing(output, force=force)
        summary = run(checkpoint, motion, like, output, trust=trust_checkpoint)
    _say(
        f"retargeted the motion of {summary['refs']['motion']} onto the body and view of {summary['refs']['like']}",
        summary,
        output,
    )


@click.command()
@click.argument("checkpoint", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("first", metavar="STORE:A")
@click.argument("second", metavar="STORE:B")
@_output_option()
@trust_checkpoint_option()
@force_option()
def compose(checkpoint, first, second, output, trust_checkpoint, force):
    """A new motion: the mean of the Motions of clips A and B, performed by A's body in A's view (thesis eq. 4.5),
    by a motion generator CHECKPOINT. A and B are STORE:CLIP, CLIP a clip id or index."""
    from ..motion import compose as run

    with output_lock(output, "compose"):
        refuse_existing(output, force=force)
        summary = run(checkpoint, first, second, output, trust=trust_checkpoint)
    _say(
        f"composed the motions of {summary['refs']['a']} and {summary['refs']['b']} on the body and view of A",
        summary,
        output,
    )


COMMANDS = (retarget, compose)
