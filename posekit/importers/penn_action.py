"""Penn Action (Zhang et al., ICCV 2013): one MATLAB file per clip with 13 human-labelled 2D joints.

Each file holds ``x``, ``y``, ``visibility`` (T x 13), ``bbox`` (T x 4, x1 y1 x2 y2), ``action``, ``pose``
(camera view), ``train`` (+1 / -1), ``nframes`` and ``dimensions`` (H, W, T).

Joints marked invisible (visibility 0) keep their coordinates: annotators placed them, mostly inside the
image, so they are usable estimates; their score is 0 (visible joints score 1) so a consumer can mask them.
The one exception is the placeholder (0, 0) that two clips carry on a last, unannotated frame: that is not a
label and becomes NaN.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import scipy.io

from ..layouts import get_layout
from ..registry import IMPORTERS
from ..store import Clip
from .base import ImportedDataset, expand, fail, iter_files

FPS = 30.0  # Penn Action frames come from 30 fps YouTube videos, kept at full rate
CLASSES = sorted(
    [
        "baseball_pitch",
        "baseball_swing",
        "bench_press",
        "bowl",
        "clean_and_jerk",
        "golf_swing",
        "jump_rope",
        "jumping_jacks",
        "pullup",
        "pushup",
        "situp",
        "squat",
        "strum_guitar",
        "tennis_forehand",
        "tennis_serve",
    ]
)
FIELDS = ("x", "y", "visibility", "bbox", "action", "train", "dimensions")


@IMPORTERS.register_module("penn-action", suffixes=(".mat",))
def read_penn_action(sources: list[Path], *, layout=None, max_persons=None) -> ImportedDataset:
    # The files name their joints: a --layout is applied by the convert driver, which maps joints by name.
    files = expand(sources, (".mat",))
    return ImportedDataset(
        layout=get_layout("penn-13"),
        clips=iter_files(files, lambda p: [read_clip(p)]),
        classes=list(CLASSES),
        coord_dims=2,
        coordinates="pixel",
        name="penn_action",
        provenance={"source_format": "penn-action", "files": len(files)},
    )


def read_clip(path: Path) -> Clip:
    try:
        mat = scipy.io.loadmat(path)
    except Exception as e:  # scipy raises ValueError/TypeError/OSError for a truncated or foreign file
        raise fail(path, f"not a readable MATLAB file ({e})") from None
    missing = [k for k in FIELDS if k not in mat]
    if missing:
        raise fail(path, f"not a Penn Action label file (missing {', '.join(missing)})")
    x, y, visibility = (np.asarray(mat[k], np.float32) for k in ("x", "y", "visibility"))
    if x.ndim != 2 or x.shape[1] != 13 or y.shape != x.shape or visibility.shape != x.shape:
        raise fail(path, f"x, y and visibility must all be (frames, 13), got {x.shape}, {y.shape}, {visibility.shape}")
    keypoints = np.stack([x, y], axis=-1)
    keypoints[(visibility == 0) & (x == 0) & (y == 0)] = np.nan
    action = str(np.ravel(mat["action"])[0])
    if action not in CLASSES:
        raise fail(path, f"unknown action {action!r}")
    bbox = np.asarray(mat["bbox"], np.float32)
    if bbox.ndim != 2 or bbox.shape[1] != 4:
        raise fail(path, f"bbox must be (frames, 4), got {bbox.shape}")
    height, width = (int(v) for v in np.ravel(mat["dimensions"])[:2])
    return Clip(
        id=path.stem,
        keypoints=keypoints[:, None],
        scores=visibility[:, None],
        box=_boxes(bbox, len(x))[:, None],
        label=CLASSES.index(action),
        fps=FPS,
        image_size=(width, height),
        source=path.name,
        splits=("train",) if int(np.ravel(mat["train"])[0]) == 1 else ("test",),
    )


def _boxes(bbox: np.ndarray, frames: int) -> np.ndarray:
    """One box per frame; two clips have one box row fewer than frames, so their last frames get NaN."""
    boxes = np.full((frames, 4), np.nan, np.float32)
    boxes[: min(len(bbox), frames)] = bbox[:frames]
    return boxes
