"""``posekit extract``: pose proposals of several experts from videos, tracked, into one store."""

from __future__ import annotations

import re
from pathlib import Path

import click

from ..errors import PosekitError
from ..locks import output_lock
from ..outputs import force_option, refuse_existing


@click.command()
@click.argument("videos", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("-o", "--output", required=True, type=click.Path(path_type=Path), help="Proposals store to write (.h5).")
@click.option(
    "--experts",
    default="blazepose-detector,blazepose-detector+flip,blazepose-detector+scale0.75",
    show_default=True,
    help="Comma-separated experts: blazepose-detector (BlazePose's person detector, every person), "
    "blazepose-multi (a person per face), blazepose (one person), rtmlib:MODEL.onnx, FORMAT:FOLDER (precomputed "
    "openpose, alphapose, mmpose-json...), SPEC.json (mmpose config + checkpoint); +flip / +scaleS add "
    "test-time-augmented runs.",
)
@click.option("--device", default="cpu", show_default=True, help="cpu or cuda (mmpose, rtmlib; BlazePose is CPU only).")
@click.option(
    "--max-persons",
    type=click.IntRange(min=1),
    default=2,
    show_default=True,
    help="Keep the M main persons of each video (longest and largest tracks); a photo keeps every person.",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Processes, each extracting whole videos with its own models.",
)
@click.option("--layout", default="unik-17", show_default=True, help="Common joint layout of the store.")
@click.option("--max-frames", type=click.IntRange(min=1), help="Only the first N frames of each video (trials).")
@click.option(
    "--shard",
    metavar="K/N",
    help="Only the K-th (0-based) of N slices of the videos found, for N jobs of a cluster that extract a "
    "collection in parallel; posekit store merge joins their stores as one run would have written them.",
)
@force_option()
def extract(videos, output, experts, device, max_persons, workers, layout, max_frames, shard, force):
    """Pose proposals of every expert for VIDEOS (video files, images, or folders searched recursively) into a
    store.

    In each folder, images named alike but for a number at a steady step (frame_0001.png, frame_0002.png...) are
    numbered frames: one clip, read in numeric order, its frame numbers those of the names; other images are one
    one-frame clip each, as are images named on the command line. One line per folder says which.

    Resumable: run the same command again after an interruption and finished videos are skipped."""
    from ..extract import extract as run
    from ..layouts import get_layout

    if device != "cpu" and not device.startswith("cuda"):
        raise PosekitError(f"--device {device!r}: use cpu or cuda (cuda:N)")
    try:
        get_layout(layout)
    except KeyError as e:
        raise PosekitError(f"--layout: {e.args[0]}") from None
    shard = parse_shard(shard) if shard else None
    with output_lock(output, "extract"):
        refuse_existing(output, force=force)  # under the lock: a run that finished meanwhile is not overwritten
        summary = run(
            videos,
            output,
            experts=experts.split(","),
            device=device,
            max_persons=max_persons,
            workers=workers,
            layout=layout,
            max_frames=max_frames,
            shard=shard,
            report=lambda line: click.echo(line, err=True),
        )
    resumed = f", {summary['resumed']} from an earlier run" if summary["resumed"] else ""
    failed = f"; {len(summary['failed'])} failed (reported above)" if summary["failed"] else ""
    videos = f"{summary['videos']} video{'s' if summary['videos'] != 1 else ''}"
    if shard:
        videos += f" (shard {shard[0]}/{shard[1]} of {summary['found']} found)"
    click.echo(
        f"extracted {videos}{resumed} x {len(summary['experts'])} experts "
        f"({', '.join(summary['experts'])}) = {summary['clips']} clips, layout {summary['layout']} -> "
        f"{output}{failed}"
    )


def parse_shard(text: str) -> tuple[int, int]:
    """``K/N`` -> (K, N), 0 <= K < N."""
    match = re.fullmatch(r"([0-9]+)/([0-9]+)", text)
    if not match or int(match[1]) >= int(match[2]):
        raise PosekitError(f"--shard {text!r}: give K/N, the K-th of N shards counted from 0 (0/10 ... 9/10)")
    return int(match[1]), int(match[2])


COMMANDS = (extract,)
