"""``posekit rodent kinematics`` (clean keypoint files and measure movement) and ``posekit train lstm-selfsup``
(self-supervised posture and behaviour embeddings). Heavy modules are imported inside the commands."""
from __future__ import annotations

import math
from pathlib import Path

import click

from ..cli_options import report, run_trainer, trainer_options
from ..outputs import refuse_existing


@click.command()
@click.argument("source", metavar="INPUT", type=click.Path(exists=True, path_type=Path))
@click.option("-o", "--output", required=True, type=click.Path(path_type=Path),
              help="Output prefix: OUT.h5 (cleaned store), OUT_kinematics.csv, OUT_per_minute.csv, "
                   "OUT_summary.csv, OUT.png.")
@click.option("--format", "fmt",
              help="Format of INPUT when it is not a store (dlc, sleap, nwb...; as for posekit convert).")
@click.option("--min-confidence", type=float, help="Joints scored below this become missing (e.g. 0.6).")
@click.option("--max-gap", type=int, default=0, show_default=True,
              help="Interpolate linearly over gaps of at most this many frames; longer gaps stay missing.")
@click.option("--smooth", "smoother", type=click.Choice(["savgol", "median", "none"]), default="savgol",
              show_default=True, help="Smoother, run on each unbroken stretch of a joint's track.")
@click.option("--window", type=int, default=7, show_default=True, help="Smoothing window in frames (odd).")
@click.option("--body-centre", help="Comma-separated joints whose mean is the body centre (default: all joints).")
@click.option("--head", help="Joint the heading points to (default: a joint named snout, nose or head).")
@click.option("--tail", help="Joint the heading starts from (default: a tail-base joint, else the body centre).")
@click.option("--fps", type=float, help="Frame rate; needed when the input does not record it (DLC files).")
@click.option("--moving-speed", type=float, default=20.0, show_default=True,
              help="Body-centre speed (units per second) above which a frame counts as moving.")
@click.option("--table-format", type=click.Choice(["csv", "hdf5"]), default="csv", show_default=True,
              help="hdf5: the three tables in one OUT_kinematics.h5 (pandas keys kinematics, per_minute, summary).")
@click.option("--force", is_flag=True, help="Replace existing outputs.")
def kinematics(source, output, fmt, min_confidence, max_gap, smoother, window, body_centre, head, tail, fps,
               moving_speed, table_format, force):
    """Clean the keypoints of INPUT (a store, or a file of --format) and measure each animal's movement."""
    from ..convert import as_store
    from ..errors import PosekitError
    from .kinematics_store import Options, outputs, run

    if window < 1 or max_gap < 0:
        raise PosekitError("--window must be at least 1 and --max-gap at least 0")
    options = Options(min_confidence=min_confidence, max_gap=max_gap, smoother=smoother, window=window,
                      body_centre=tuple(j.strip() for j in body_centre.split(",")) if body_centre else (),
                      head=head, tail=tail, fps=fps, moving_speed=moving_speed, table_format=table_format)
    refuse_existing(*outputs(output, table_format).values(), force=force)
    with as_store(source, fmt) as store:
        result = run(store, output, options, source=source)
    heading = f"heading {result['head']} <- {result['tail']}" if result["head"] else "no heading (give --head)"
    click.echo(f"cleaned {result['total']} joints: {result['removed']} below confidence removed, "
               f"{result['filled']} filled, {result['missing']} still missing; body centre: "
               f"{_joints(result['body_centre'])}; {heading}")
    for row in result["summary"].itertuples():
        speed = (f"mean speed {row.mean_speed:.1f}/s" if math.isfinite(row.mean_speed)
                 else "no speed (no two successive frames with a position)")
        click.echo(f"  {row.clip} #{row.individual}: {row.duration_s:.1f} s, path {row.path_length:.0f}, {speed}, "
                   f"moving {row.moving_s:.1f} s, still {row.still_s:.1f} s")
    click.echo("-> " + ", ".join(str(p) for p in result["paths"].values()))


def _joints(value) -> str:
    return value if isinstance(value, str) else ", ".join(value)


@click.command(name="lstm-selfsup")
@trainer_options(store_help="Tracks store (boxes per frame, source = video) or keypoint store; each clip's video is "
                            "read. --tracks is its old name.", store_aliases=("--tracks",),
                 outputs="crops.npz, checkpoints, model.pth and embeddings.h5",
                 default_config="lstm_selfsup/lstm_selfsup_crops.py", batch_size=False,
                 resume_help="Continue the last run in WORK_DIR (its crops are reused).")
@click.option("--video", type=click.Path(exists=True, path_type=Path),
              help="Video of every clip (default: each clip's source, relative to the store's folder).")
@click.option("--batch-pairs", type=int, help="n (real, permuted) pairs per batch (default: the config's, 12).")
@click.option("--seq-len", type=int, help="Frames per sequence (default: the config's, 8).")
@click.option("--stride", type=int, help="Frames between the starts of training sequences (default: 2).")
@click.option("--crop-size", type=int, help="Side of the square grey crops in pixels (default: 64).")
@click.option("--hidden", type=int, help="LSTM units, the behaviour embedding's size (default: 512).")
@click.option("--lr", type=float, help="Learning rate (default: the config's).")
def lstm_selfsup(**options):
    """Posture and behaviour embeddings of an animal from unlabelled video: LSTM self-supervision.

    A CNN-LSTM learns to tell real sequences of crops around the animal from permuted ones (Brattoli, Buechler et
    al., CVPR 2017); WORK_DIR/embeddings.h5 then holds its per-frame posture and per-sequence behaviour vectors."""
    from ..checkpoints import LAST_ITERATIONS

    r = run_trainer("lstm-selfsup", **options)
    report(f"trained the CNN-LSTM for {r['epochs']} epochs on {options['store']}: real-vs-permuted training accuracy "
           f"{100 * r['train_accuracy']:.1f}% (last {LAST_ITERATIONS} iterations); embedded {r['frames']} frames "
           f"and {r['windows']} sequences", r["checkpoint"], r["embeddings"])


COMMANDS = (kinematics,)
TRAIN_COMMANDS = (lstm_selfsup,)
