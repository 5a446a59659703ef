"""Kinetics-skeleton (ST-GCN, Yan et al. 2018): one JSON per video of OpenPose 18-joint poses.

``{data: [{frame_index, skeleton: [{pose: [x0, y0, x1, y1, ...], score: [...]}]}], label, label_index}`` with
coordinates normalised to 0..1 by the 340x256 frame, 30 fps. Zero coordinates or score 0 = missing (NaN).
People are not tracked: per frame they are ranked by summed score and the first ``max_persons`` (default 2)
kept, as ST-GCN's feeder does. The released layout ``kinetics_{train,val}/`` plus ``kinetics_{train,val}_label.json``
(``{video_id: {has_skeleton, label, label_index}}``) gives splits "train" / "val" and the labels; videos whose
label entry says ``has_skeleton: false`` or that hold no person at all are skipped. Class names come from
``label_names`` (ST-GCN's ``label_name.txt``, one per line, label_index order; found by itself in a named folder),
otherwise from the label files, otherwise from the videos' own ``label`` / ``label_index``.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..layouts import get_layout
from ..registry import IMPORTERS
from ..store import Clip
from .base import ImportedDataset, expand, fail, iter_files, stack_frames

FPS = 30.0
IMAGE_SIZE = (340, 256)  # ST-GCN resized every video to 340x256 before running OpenPose
NUM_JOINTS = 18
log = logging.getLogger(__name__)


@IMPORTERS.register_module("kinetics-skeleton", suffixes=(".json",))
def read_kinetics_skeleton(sources: list[Path], *, layout=None, max_persons=None, label_names=None) -> ImportedDataset:
    # The files name their joints: a --layout is applied by the convert driver, which maps joints by name.
    files = [p for p in expand(sources, (".json",)) if not p.name.endswith("_label.json")]
    if not files:
        raise InputError(f"kinetics-skeleton: no per-video JSON files in {', '.join(map(str, sources))}")
    label_files = {folder: _label_file(folder) for folder in {p.parent for p in files}}
    entries = {video: entry for table in label_files.values() for video, entry in table.items()}
    found = [d / "label_name.txt" for d in map(Path, sources) if (d / "label_name.txt").is_file()]
    classes = _classes(label_names or (found[0] if found else None), entries, files)
    persons = 2 if max_persons is None else int(max_persons)
    return ImportedDataset(
        layout=get_layout("openpose-18"),
        classes=classes,
        coord_dims=2,
        coordinates="normalised",
        name="kinetics_skeleton",
        clips=iter_files(files, lambda p: read_clip(p, label_files[p.parent], persons)),
        provenance={
            "source_format": "kinetics-skeleton",
            "files": len(files),
            "persons": f"top {persons} by summed score per frame",
        },
    )


def read_clip(path: Path, labels: dict, max_persons: int = 2):
    """Yield the clip of one video file (nothing when it has no skeleton)."""
    entry = labels.get(path.stem)
    if entry is not None and not entry.get("has_skeleton", True):
        return
    try:
        video = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise fail(path, f"not valid JSON ({e})") from None
    frames = {}
    for item in video["data"]:
        people = item["skeleton"]
        xy = np.asarray([p["pose"] for p in people], np.float32).reshape(len(people), NUM_JOINTS, 2)
        frames[int(item["frame_index"])] = (
            xy,
            np.asarray([p["score"] for p in people], np.float32).reshape(len(people), NUM_JOINTS),
        )
    if not frames or not any(len(score) for _, score in frames.values()):
        log.warning("%s: no skeleton in any frame; skipped", path)
        return
    keypoints, scores, frame_index = stack_frames(frames, NUM_JOINTS, max_persons)
    label = int((entry or video).get("label_index", -1))
    split = {"kinetics_train": ("train",), "kinetics_val": ("val",)}.get(path.parent.name, ())
    yield Clip(
        id=path.stem,
        keypoints=keypoints,
        scores=scores,
        frame_index=frame_index,
        label=label,
        fps=FPS,
        image_size=IMAGE_SIZE,
        source=path.name,
        splits=split,
    )


def _label_file(folder: Path) -> dict:
    """ST-GCN's ``<folder>_label.json`` beside a video folder, or {}."""
    path = folder.parent / f"{folder.name}_label.json"
    if not path.is_file():
        return {}
    try:
        table = json.loads(path.read_text())
        return {video: dict(entry) for video, entry in table.items()}
    except (json.JSONDecodeError, UnicodeDecodeError, AttributeError, TypeError, ValueError) as e:
        raise fail(path, f"not a Kinetics-skeleton label file ({e})") from None


def _classes(label_names, entries: dict, files) -> list[str]:
    if label_names:
        if not Path(label_names).is_file():
            raise InputError(f"{label_names}: no such class-name file")
        return [line.strip() for line in Path(label_names).read_text().splitlines() if line.strip()]
    if not entries:  # no label files: the videos carry their own label
        entries = {}
        for path in files:
            try:
                video = json.loads(path.read_text())
            except (json.JSONDecodeError, UnicodeDecodeError) as e:
                raise fail(path, f"not valid JSON ({e})") from None
            entries[path.stem] = video
    names = {
        int(e["label_index"]): str(e.get("label", ""))
        for e in entries.values()
        if isinstance(e, dict) and int(e.get("label_index", -1)) >= 0
    }
    return [names.get(i) or f"class_{i}" for i in range(max(names, default=-1) + 1)]
