"""OpenPose per-frame JSON (``--write_json``): ``{people: [{pose_keypoints_2d: [x, y, c] * V}]}``.

A folder of ``<video>_000000000000_keypoints.json`` files is one clip per video prefix, its frame index the
12-digit number. The layout follows the keypoint count: 25 -> openpose-25 (BODY_25), 18 -> openpose-18 (COCO).
A keypoint with confidence 0 is missing (NaN). OpenPose does not track people: in every frame people are ranked
by summed confidence and the first ``max_persons`` kept (all by default), so a person slot is a rank, not an
identity, as in ST-GCN's Kinetics feeder.
"""

from __future__ import annotations

import json
import logging
import re
from collections import defaultdict
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..layouts import get_layout
from ..registry import IMPORTERS
from ..store import Clip
from .base import ImportedDataset, expand, fail, stack_frames

LAYOUT_BY_JOINTS = {25: "openpose-25", 18: "openpose-18"}
FRAME_FILE = re.compile(r"(?P<video>.*?)_?(?P<frame>\d+)_keypoints")
log = logging.getLogger(__name__)


@IMPORTERS.register_module("openpose", suffixes=("_keypoints.json",))
def read_openpose(sources: list[Path], *, layout=None, max_persons=None, fps=None) -> ImportedDataset:
    videos = defaultdict(dict)
    for path in expand(sources, ("_keypoints.json",)):
        match = FRAME_FILE.fullmatch(path.name[: -len(".json")])
        if not match:
            raise fail(path, "name is not <video>_<frame number>_keypoints.json (OpenPose --write_json)")
        videos[(path.parent, match["video"])][int(match["frame"])] = path
    num_joints = _joint_count(path for frames in videos.values() for path in frames.values())
    # 25 or 18 keypoints name the joints (a --layout then maps them, in the convert driver); other counts need
    # --layout to name them.
    if num_joints not in LAYOUT_BY_JOINTS and layout is None:
        raise InputError(f"openpose: {num_joints} keypoints per person; name the layout with --layout")
    clips = (
        clip
        for (folder, video), frames in videos.items()
        if (clip := _clip(folder, video, frames, num_joints, max_persons, fps)) is not None
    )
    return ImportedDataset(
        layout=get_layout(LAYOUT_BY_JOINTS.get(num_joints) or layout),
        clips=clips,
        coord_dims=2,
        coordinates="pixel",
        provenance={"source_format": "openpose", "videos": len(videos)},
    )


def _joint_count(paths) -> int:
    """Keypoints per person, from the first file that has a person (18 when none has one)."""
    for path in paths:
        people = _people(path)
        if len(people):
            return people.shape[1]
    return 18


def _people(path: Path) -> np.ndarray:
    """(P, V, 3) x, y, confidence of one frame file."""
    try:
        data = json.loads(path.read_text())
        people = [p["pose_keypoints_2d"] for p in data["people"] if p["pose_keypoints_2d"]]
        return np.asarray(people, np.float32).reshape(len(people), -1, 3) if people else np.zeros((0, 0, 3))
    except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError, ValueError) as e:
        raise fail(path, f"not an OpenPose keypoints file ({type(e).__name__}: {e})") from None


def _clip(folder: Path, video: str, frame_files: dict, num_joints: int, max_persons, fps) -> Clip | None:
    """The clip of one video, or None when nobody appears in any of its frames."""
    frames = {}
    for index, path in frame_files.items():
        people = _people(path)
        if len(people) and people.shape[1] != num_joints:
            raise fail(path, f"{people.shape[1]} keypoints per person, the first file has {num_joints}")
        frames[index] = (people[..., :2], people[..., 2])
    if not any(len(score) for _, score in frames.values()):
        log.warning("%s/%s: no person in any frame; skipped", folder, video)
        return None
    keypoints, scores, frame_index = stack_frames(frames, num_joints, max_persons)
    name = video or folder.name
    return Clip(
        id=name,
        keypoints=keypoints,
        scores=scores,
        frame_index=frame_index,
        fps=float(fps) if fps else float("nan"),
        source=f"{folder.name}/{video}_*_keypoints.json",
    )
