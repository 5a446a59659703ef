"""``posekit show``: a store's skeletons drawn on their video (posekit.show), or, with no video, several clips side
by side on a blank canvas (posekit.panels). OpenCV is imported inside."""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import PosekitError
from ..locks import output_lock
from ..outputs import force_option, refuse_existing


@click.command()
@click.argument("store_path", metavar="STORE", type=click.Path(path_type=Path))
@click.option(
    "--video",
    type=click.Path(path_type=Path),
    help="The video the store's poses are of; without one, clips are drawn side by side on a blank canvas.",
)
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(path_type=Path),
    help="Video to write (.mp4); with --frames, an image (.png).",
)
@click.option(
    "--clip",
    help="With --video: the clip id to draw; a video id of a proposals store draws all its "
    "experts, a colour each. Default: the clips whose source is VIDEO.",
)
@click.option(
    "--clips",
    help="Without --video: comma-separated clip ids or indices, a panel each (e.g. "
    "motion,like,result). Default: the first --max-panels clips.",
)
@click.option(
    "--max-panels",
    type=click.IntRange(min=1),
    default=6,
    show_default=True,
    help="Without --video and --clips: how many of the store's first clips to draw.",
)
@click.option(
    "--panel-size",
    type=click.IntRange(min=64),
    default=320,
    show_default=True,
    help="Without --video: each panel's width and height in pixels.",
)
@click.option(
    "--frames",
    type=click.IntRange(min=1),
    help="Without --video: write one image (.png) of this many evenly spaced frames per clip, a row each.",
)
@force_option()
def show(store_path, video, output, clip, clips, max_panels, panel_size, frames, force):
    """Draw a store's skeletons, track ids and confidence on the frames of their video; or, with no --video,
    clips side by side, each fitted into its own titled panel (the inputs and result of posekit retarget)."""
    if video is not None and (clips or frames):
        raise PosekitError("--clips and --frames draw panels without a video; with --video choose a clip by --clip")
    if video is None and clip:
        raise PosekitError("--clip picks what is drawn on --video; without a video choose panels with --clips")
    with output_lock(output, "show"):
        refuse_existing(output, force=force)
        if video is None:
            _show_panels(store_path, output, clips, max_panels, panel_size, frames)
            return
        from ..show import show as run

        summary = run(store_path, video, output, clip=clip)
    beyond = summary["store_frames_beyond_video"]
    click.echo(
        f"drew {', '.join(summary['clips'])} on {summary['drawn']} of {summary['frames']} frames of {video}"
        + (f" ({beyond} store frames lie beyond the video's end)" if beyond else "")
        + f" -> {output}"
    )


def _show_panels(store_path, output, clips, max_panels, panel_size, frames):
    from ..panels import show_panels

    chosen = [c.strip() for c in clips.split(",") if c.strip()] if clips else None
    summary = show_panels(store_path, output, clips=chosen, max_panels=max_panels, panel_size=panel_size, frames=frames)
    names, count = ", ".join(summary["clips"]), len(summary["clips"])
    first = "" if chosen or count == summary["of"] else f" (the first {count} of {summary['of']}; choose with --clips)"
    what = (
        f"{frames} evenly spaced frames of each of {count} clips, a row each"
        if frames
        else f"{count} clips side by side over {summary['frames']} frames (shorter clips loop)"
    )
    click.echo(f"drew {what}: {names}{first} -> {output}")


COMMANDS = (show,)
