"""``posekit demo``: the pipeline end to end on a sample the project generates, offline.

Skeleton files (npz, as a lab would bring its own) -> convert -> a validated store; a short video of a real
photograph -> extract (three BlazePose experts) -> refine (SST-A) -> show; a mouse's DeepLabCut predictions ->
rodent kinematics; then train UNIK on the store -> predict. Each capability that lands adds its step here."""

from __future__ import annotations

from pathlib import Path

import click
import numpy as np

from pose_refine import GAMMA

from .convert import as_store, convert
from .layouts import get_layout
from .sample import ACTIONS, IMAGE_SIZE, make_sample, sample_split, write_sample_mouse_csv, write_sample_video
from .store import SkeletonStore
from .store.validate import validate


def write_sample_files(folder: Path, clips_per_action: int = 24) -> int:
    """The procedural sample as one .npz per clip (data_schemas/arrays.md); every 4th clip of each action is a
    test clip."""
    folder.mkdir(parents=True, exist_ok=True)
    joints = np.array(get_layout("coco-17").joints)
    count = 0
    for count, (clip_id, label, keypoints, scores) in enumerate(make_sample(clips_per_action), start=1):
        np.savez(
            folder / f"{clip_id}.npz",
            keypoints=keypoints,
            scores=scores,
            joint_names=joints,
            label=label,
            classes=np.array(ACTIONS),
            fps=30.0,
            image_size=np.array(IMAGE_SIZE),
            split=sample_split(clip_id),
        )
    return count


def run(output: Path, train: bool = True) -> Path:
    output = Path(output)
    files = output / "sample_npz"
    count = write_sample_files(files)
    click.echo(f"1. wrote {count} sample skeleton clips ({', '.join(ACTIONS)}) as .npz -> {files}/")
    store_path = output / "sample.h5"
    summary = convert("npz", [files], store_path, layout="coco-17", progress=False)
    click.echo(f"2. posekit convert npz {files} -o {store_path}: {summary['clips']} clips")
    problems = validate(store_path)
    if problems:
        raise click.ClickException("; ".join(problems))
    with SkeletonStore(store_path) as store:
        info = store.info()
    splits = ", ".join(f"{k} {v}" for k, v in info["splits"].items())
    click.echo(
        f"3. posekit store validate: valid; {info['num_clips']} clips, {info['num_frames']} frames, "
        f"layout {info['layout']}, classes {info['num_classes']}, splits {splits}"
    )
    click.echo(f"store: {store_path.resolve()}")
    extract_and_refine(output)
    mouse_kinematics(output)
    if not train:
        return store_path
    from .train.api import predict
    from .train.api import train as train_model

    work_dir = output / "unik"
    click.echo(
        f"8. posekit train unik --store {store_path} --work-dir {work_dir} --config {DEMO_CONFIG} "
        f"(a minute or two on a CPU; the log is in {work_dir})"
    )
    result = train_model(store_path, work_dir, config=DEMO_CONFIG)
    click.echo(
        f"   test top-1 {result['top1']:.1f}% over {result['test_split_clips']} clips (procedural demo data) "
        f"-> {work_dir / 'metrics.json'}, {work_dir / 'confusion.png'}"
    )
    predictions = predict(work_dir / "best.pth", store_path, split="test")
    right = sum(p["predicted"] == p["id"].rsplit("_", 1)[0] for p in predictions)
    click.echo(
        f"9. posekit predict {work_dir / 'best.pth'} {store_path}: {right}/{len(predictions)} test clips "
        f"named right, e.g. {predictions[0]['id']} -> {predictions[0]['predicted']} "
        f"({predictions[0]['probability']:.2f})"
    )
    return store_path


def extract_and_refine(output: Path) -> None:
    """Steps 4-6: pose proposals of three experts on a sample video, fused by SST-A, drawn on the video."""
    from .extract import extract
    from .refine.store import refine_store
    from .show import show

    video = write_sample_video(output / "sample_video.mp4")
    proposals, refined, report = output / "proposals.h5", output / "refined.h5", output / "refine_report"
    proposals.unlink(missing_ok=True)  # a new run starts afresh rather than resuming the last one
    summary = extract([video], proposals, progress=False)
    click.echo(
        f"4. posekit extract {video} -o {proposals}: {summary['clips']} clips from the experts "
        f"{', '.join(summary['experts'])}"
    )
    overall = refine_store(proposals, refined, report_dir=report, progress=False)["report"]
    click.echo(
        f"5. posekit refine {proposals} -o {refined} --report {report}: SST-A kept "
        f"{overall['kept_fraction']:.0%} of {overall['person_frames']} person-frames at gamma {GAMMA:g} "
        f"-> {report / 'confidence.png'}"
    )
    drawn = output / "sample_video_refined.mp4"
    show(refined, video, drawn, progress=False)
    click.echo(f"6. posekit show {refined} --video {video} -o {drawn}")


def mouse_kinematics(output: Path) -> None:
    """Step 7: clean a mouse's DeepLabCut predictions and measure its movement."""
    from .rodent.kinematics.store import Options, run

    csv = write_sample_mouse_csv(output / "mouse_dlc.csv")
    with as_store(csv, "dlc") as store:
        result = run(
            store, output / "mouse", Options(min_confidence=0.6, max_gap=5, fps=30.0), source=csv, progress=False
        )
    summary = next(result["summary"].itertuples())
    click.echo(
        f"7. posekit rodent kinematics {csv} --format dlc --fps 30 --min-confidence 0.6 --max-gap 5 "
        f"-o {output / 'mouse'}: path {summary.path_length:.0f} px in {summary.duration_s:.0f} s, moving "
        f"{summary.moving_s:.0f} s, still {summary.still_s:.0f} s -> {result['paths']['figure']}"
    )


DEMO_CONFIG = "unik/unik_1xb8-joint_demo.py"
