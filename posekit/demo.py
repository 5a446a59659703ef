"""``posekit demo``: the pipeline end to end on a sample the project generates, offline.

Today: skeleton files (npz, as a lab would bring its own) -> convert -> a validated store -> train UNIK ->
predict. Each capability that lands adds its step here (extract -> refine -> train -> predict)."""
from __future__ import annotations

from pathlib import Path

import click
import numpy as np

from .convert import convert
from .layouts import get_layout
from .sample import ACTIONS, IMAGE_SIZE, make_sample, sample_split
from .store import SkeletonStore
from .store.validate import validate


def write_sample_files(folder: Path, clips_per_action: int = 24) -> int:
    """The procedural sample as one .npz per clip (data_schemas/arrays.md); every 4th clip of each action is a
    test clip."""
    folder.mkdir(parents=True, exist_ok=True)
    joints = np.array(get_layout("coco-17").joints)
    count = 0
    for count, (clip_id, label, keypoints, scores) in enumerate(make_sample(clips_per_action), start=1):
        np.savez(folder / f"{clip_id}.npz", keypoints=keypoints, scores=scores, joint_names=joints, label=label,
                 classes=np.array(ACTIONS), fps=30.0, image_size=np.array(IMAGE_SIZE),
                 split=sample_split(clip_id))
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
    click.echo(f"3. posekit store validate: valid; {info['num_clips']} clips, {info['num_frames']} frames, "
               f"layout {info['layout']}, classes {info['num_classes']}, splits {splits}")
    click.echo(f"store: {store_path.resolve()}")
    if not train:
        return store_path
    from .train.api import predict, train as train_model

    work_dir = output / "unik"
    click.echo(f"4. posekit train unik --store {store_path} --work-dir {work_dir} --config {DEMO_CONFIG} "
               f"(a minute or two on a CPU; the log is in {work_dir})")
    result = train_model(store_path, work_dir, config=DEMO_CONFIG)
    click.echo(f"   test top-1 {result['top1']:.1f}% over {result['test_split_clips']} clips (procedural demo data) "
               f"-> {work_dir / 'metrics.json'}, {work_dir / 'confusion.png'}")
    predictions = predict(work_dir / "best.pth", store_path, split="test")
    right = sum(p["predicted"] == p["id"].rsplit("_", 1)[0] for p in predictions)
    click.echo(f"5. posekit predict {work_dir / 'best.pth'} {store_path}: {right}/{len(predictions)} test clips "
               f"named right, e.g. {predictions[0]['id']} -> {predictions[0]['predicted']} "
               f"({predictions[0]['probability']:.2f})")
    return store_path


DEMO_CONFIG = "unik/unik_1xb8-joint_demo.py"
