"""``posekit refine``: SST-A over a proposals store, and the self-trained student on its confident frames."""

from __future__ import annotations

from pathlib import Path

import click

from pose_refine import GAMMA

from ..locks import output_lock, remove_leftovers
from ..outputs import force_option, refuse_existing
from .options import trust_checkpoint_option


@click.command()
@click.argument("proposals", type=click.Path(path_type=Path))
@click.option("-o", "--output", required=True, type=click.Path(path_type=Path), help="Refined store to write (.h5).")
@click.option(
    "--gamma",
    type=float,
    default=GAMMA,
    show_default=True,
    help="Confidence threshold (thesis eq. 3.3): person-frames with C < gamma count as discarded.",
)
@click.option(
    "--drop-low",
    is_flag=True,
    help="Write discarded person-frames (C < gamma, or no C) as missing instead of keeping them with "
    "their low confidence.",
)
@click.option("--max-persons", type=int, help="Keep the M main tracks of each video (largest summed C); default all.")
@click.option(
    "--report",
    "report_dir",
    type=click.Path(path_type=Path),
    help="Folder for report.json, confidence.png (histogram of C) and experts.png.",
)
@force_option("Replace OUTPUT, the report's files and OUTPUT_student/ if they exist.")
@click.option(
    "--train-student",
    is_flag=True,
    help="Then self-train a student estimator on the pseudo labels (C >= gamma) in OUTPUT_student/ "
    "(SSTA-PRS, docs/self_training.md).",
)
@click.option("--student-epochs", type=int, help="Student training epochs (default: the student config's).")
@click.option(
    "--student-config",
    type=click.Path(path_type=Path),
    help="mmpose config of the student (default models/ssta_prs/rtmpose-t_ssta-prs_1xb32-128x128.py).",
)
@click.option(
    "--student-checkpoint",
    type=click.Path(path_type=Path),
    help="mmpose weights to start the student from (default: from scratch).",
)
@trust_checkpoint_option()
def refine(
    proposals,
    output,
    gamma,
    drop_low,
    max_persons,
    report_dir,
    force,
    train_student,
    student_epochs,
    student_config,
    student_checkpoint,
    trust_checkpoint,
):
    """Fuse the experts' poses of every tracked person of a proposals store with SST-A."""
    from ..refine.report import FILES
    from ..refine.store import refine_store

    report_files = [report_dir / name for name in FILES] if report_dir is not None else []
    student_dir = _student_dir(output) if train_student else None
    with output_lock(output, "refine"):
        refuse_existing(output, *report_files, student_dir, force=force)
        for path in report_files:
            remove_leftovers(path)
        summary = refine_store(
            proposals, output, gamma=gamma, max_persons=max_persons, drop_low=drop_low, report_dir=report_dir
        )
        _say_refined(summary, output, gamma, drop_low, report_dir)
        if train_student:
            _train_student(
                output, student_dir, gamma, student_epochs, student_config, student_checkpoint, trust_checkpoint
            )


def _say_refined(summary, output, gamma, drop_low, report_dir):
    report = summary["report"]
    median = (report["confidence_quantiles"] or {}).get("0.5")
    kept = (
        "no person-frames"
        if report["kept_fraction"] is None
        else (
            f"{report['person_frames']:,} person-frames, {report['kept_fraction']:.1%} with C >= {gamma:g}"
            + (" (the rest written as missing)" if drop_low else "")
            + (", no C (no fused head and neck)" if median is None else f", median C {median:.3f}")
        )
    )
    click.echo(
        f"refined {summary['videos']} videos with SST-A over {len(summary['experts'])} experts "
        f"({', '.join(summary['experts'])}): {report['tracks_kept']} tracks, {kept} -> {output}"
    )
    if report_dir is not None:
        click.echo(
            f"quality report -> {report_dir / 'report.json'}, {report_dir / 'confidence.png'}, "
            f"{report_dir / 'experts.png'}"
        )


def _student_dir(refined: Path) -> Path:
    return refined.with_name(f"{refined.stem}_student")


def _train_student(refined, work_dir, gamma, epochs, config, checkpoint, trust_checkpoint):
    import shutil

    import torch

    from ..train.student import train_student

    shutil.rmtree(work_dir, ignore_errors=True)  # a previous student, replaced under --force
    result = train_student(
        refined,
        work_dir,
        gamma=gamma,
        epochs=epochs,
        config=config,
        checkpoint=checkpoint,
        device="cuda" if torch.cuda.is_available() else "cpu",
        trust_checkpoint=trust_checkpoint,
    )
    labels = result["pseudo_labels"]
    click.echo(
        f"student trained {result['epochs']} epochs on {result['device']} from "
        f"{checkpoint or 'scratch'} on {labels['annotations']:,} pseudo labels ({labels['images']:,} frames, "
        f"{labels['anchors']} anchor poses) -> {result['expert']} (posekit extract --experts)"
    )


COMMANDS = (refine,)
