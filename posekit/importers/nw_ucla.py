"""Northwestern-UCLA Multiview Action3D (Wang et al., CVPR 2014) in the JSON form CTR-GCN distributes.

``all_sqe/aAA_sSS_eEE_vVV.json`` = {file_name, skeletons: T x 20 x 3 (Kinect v1 camera space, metres),
label 1..10}: action AA, subject SS, take EE, view VV. The ten actions are numbered a01..a12 without a07
and a10; ``label`` renumbers them 1..10 in that order. A joint at exactly (0, 0, 0) was not tracked: NaN.

Split: the standard cross-view protocol, views 1 and 2 for training, view 3 for testing ("train"/"test").
CTR-GCN's ``val_label.pkl`` lists exactly the view-3 sequences; when it sits beside ``all_sqe`` its labels and
lengths are checked against the files.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..layouts import get_layout
from ..registry import IMPORTERS
from ..safe_pickle import load_pickle
from ..store import Clip
from .base import ImportedDataset, expand, fail, iter_files

CLASSES = [
    "pick up with one hand",
    "pick up with two hands",
    "drop trash",
    "walk around",
    "sit down",
    "stand up",
    "donning",
    "doffing",
    "throw",
    "carry",
]
ACTION_CODES = (1, 2, 3, 4, 5, 6, 8, 9, 11, 12)  # aAA of labels 1..10
TRAIN_VIEWS = (1, 2)
NAME = re.compile(r"a(\d+)_s(\d+)_e(\d+)_v(\d+)")


@IMPORTERS.register_module("nw-ucla", suffixes=(".json",))
def read_nw_ucla(sources: list[Path], *, layout=None, max_persons=None, fps=None) -> ImportedDataset:
    # The files name their joints: a --layout is applied by the convert driver, which maps joints by name.
    files = expand(sources, (".json",))
    expected = _validation_labels(sources)
    return ImportedDataset(
        layout=get_layout("kinect-v1-20"),
        clips=iter_files(files, lambda p: [read_clip(p, expected, fps)]),
        classes=list(CLASSES),
        coord_dims=3,
        coordinates="metric",
        name="nw_ucla",
        provenance={
            "source_format": "nw-ucla",
            "files": len(files),
            "splits": "cross-view: train = views 1, 2; test = view 3",
        },
    )


def read_clip(path: Path, expected: dict | None = None, fps=None) -> Clip:
    match = NAME.fullmatch(path.stem)
    if not match:
        raise fail(path, "name is not aAA_sSS_eEE_vVV (N-UCLA sequence naming)")
    action, view = int(match[1]), int(match[4])
    if action not in ACTION_CODES:
        raise fail(path, f"action a{action:02d} is not one of the N-UCLA actions")
    try:
        data = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise fail(path, f"not valid JSON ({e})") from None
    skeleton = np.asarray(data["skeletons"], np.float32)
    if skeleton.ndim != 3 or skeleton.shape[1:] != (20, 3) or not len(skeleton):
        raise fail(path, f"skeletons must be (frames, 20, 3), got {skeleton.shape}")
    label = ACTION_CODES.index(action)
    if int(data["label"]) != label + 1:
        raise fail(path, f"label {data['label']} does not match action a{action:02d} (label {label + 1})")
    if expected and path.stem in expected and expected[path.stem] != (label + 1, len(skeleton)):
        raise fail(
            path, f"(label, frames) {(label + 1, len(skeleton))} differ from val_label.pkl's {expected[path.stem]}"
        )
    skeleton[(skeleton == 0).all(axis=-1)] = np.nan
    return Clip(
        id=path.stem,
        keypoints=skeleton[:, None],
        label=label,
        source=path.name,
        fps=float(fps) if fps else float("nan"),
        splits=("train",) if view in TRAIN_VIEWS else ("test",),
    )


def _validation_labels(sources) -> dict | None:
    """{name: (label, frames)} from CTR-GCN's val_label.pkl in a named folder or the parent of all_sqe."""
    for src in filter(Path.is_dir, map(Path, sources)):
        for candidate in (src / "val_label.pkl", src.parent / "val_label.pkl" if src.name == "all_sqe" else None):
            if candidate is not None and candidate.is_file():
                try:
                    entries = load_pickle(candidate)
                    return {e["file_name"]: (int(e["label"]), int(e["length"])) for e in entries}
                except (KeyError, TypeError) as e:
                    raise InputError(f"{candidate}: not CTR-GCN's N-UCLA val_label.pkl ({e})") from None
    return None
