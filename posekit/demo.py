"""``posekit demo``: the pipeline end to end on a sample the project generates, offline.

Today: skeleton files (npz, as a lab would bring its own) -> convert -> a validated store. Each capability
that lands adds its step here (extract -> refine -> train -> predict)."""
from __future__ import annotations

from pathlib import Path

import click
import numpy as np

from .convert import convert
from .layouts import get_layout
from .sample import ACTIONS, IMAGE_SIZE, make_sample
from .store import SkeletonStore
from .store.validate import validate


def write_sample_files(folder: Path, clips_per_action: int = 12) -> int:
    """The procedural sample as one .npz per clip (data_schemas/arrays.md); every 4th clip is a test clip."""
    folder.mkdir(parents=True, exist_ok=True)
    joints = np.array(get_layout("coco-17").joints)
    count = 0
    for count, (clip_id, label, keypoints, scores) in enumerate(make_sample(clips_per_action), start=1):
        np.savez(folder / f"{clip_id}.npz", keypoints=keypoints, scores=scores, joint_names=joints, label=label,
                 classes=np.array(ACTIONS), fps=30.0, image_size=np.array(IMAGE_SIZE),
                 split="test" if count % 4 == 0 else "train")
    return count


def run(output: Path) -> Path:
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
    return store_path
