"""File experts: poses an estimator wrote elsewhere (OpenPose, AlphaPose, mmpose JSON, or any format posekit's
importers read), matched to each video by name, so labs can fuse estimators they run on other machines.

Matching: the files whose name starts with the video's file stem (``clip01_000000000000_keypoints.json``,
``clip01.json``, ``clip01/alphapose-results.json``...), searched recursively under the expert's folder; files
under the folder of the same relative path as the video are preferred when several videos share a stem.
Frame numbers in the files are the video's frame numbers, from 0."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

from ...errors import InputError
from ...layouts import get_layout
from ...registry import EXPERTS, IMPORTERS, names
from .base import Expert, FramePoses

JSON_FORMATS = ("alphapose", "mmpose-json")
LAYOUT_BY_JOINTS = {17: "coco-17", 25: "openpose-25", 18: "openpose-18", 33: "blazepose-33"}


@EXPERTS.register_module("file")
class FileExpert(Expert):
    def __init__(self, format: str, path, name: str | None = None, layout: str | None = None, device: str = "cpu"):
        if format not in JSON_FORMATS and format not in names(IMPORTERS):
            raise InputError(
                f"file expert: unknown format {format!r}; use one of "
                f"{', '.join(JSON_FORMATS + tuple(sorted(names(IMPORTERS))))}"
            )
        self.format, self.folder = format, Path(path)
        if not self.folder.is_dir():
            raise InputError(f"{self.folder}: no such folder (file expert {format})")
        self.name = name or format
        self._layout_option = layout
        self.layout = get_layout(layout) if layout else None  # else known once a file is read
        self.batch_size = 256  # poses are read once per video; batches only slice them
        self._frames: dict[int, FramePoses] = {}

    def start(self, video, image_size):
        files = self._files_of(video)
        if self.format in JSON_FORMATS:
            frames, num_joints = _read_json(files, self.format)
            # No person in the whole file: nothing to map, the format's usual COCO-17 will do.
            self.layout = self.layout or _layout_for(num_joints or 17, files[0])
        else:
            frames = self._read_with_importer(files)
        self._frames = frames

    def predict(self, frames, indices):
        empty = FramePoses.empty(self.layout.num_joints)
        return [self._frames.get(int(i), empty) for i in indices]

    def _files_of(self, video) -> list[Path]:
        stem = Path(video.id).name
        boundary = re.compile(re.escape(stem) + r"($|[^0-9A-Za-z])")
        found = sorted(
            p
            for p in self.folder.rglob("*")
            if p.is_file() and (boundary.match(p.name) or (p.parent.name == stem and p.suffix == ".json"))
        )
        if not found:
            raise InputError(f"{video.path}: no {self.format} file named after it in {self.folder}")
        near = [p for p in found if p.relative_to(self.folder).as_posix().startswith(video.id)]
        return near or found

    def _read_with_importer(self, files) -> dict[int, FramePoses]:
        dataset = IMPORTERS.get(self.format)(files, layout=self._layout_option)
        clips = list(dataset.clips)
        if len(clips) != 1:
            raise InputError(f"{files[0]}: {len(clips)} clips in the {self.format} files of one video, expected 1")
        self.layout = dataset.layout
        clip = clips[0]
        frames = {}
        for t, index in enumerate(clip.frame_index if clip.frame_index is not None else range(clip.num_frames)):
            present = ~np.isnan(clip.keypoints[t]).all(axis=(1, 2))
            scores = clip.scores[t] if clip.scores is not None else np.full(clip.keypoints.shape[1:3], np.nan)
            boxes = clip.box[t][present] if clip.box is not None else None
            frames[int(index)] = FramePoses(clip.keypoints[t][present][..., :2], scores[present], boxes)
        return frames


def _layout_for(num_joints: int, path: Path):
    if num_joints not in LAYOUT_BY_JOINTS:
        raise InputError(f'{path}: {num_joints} keypoints per person; name the layout ("layout" in the expert spec)')
    return get_layout(LAYOUT_BY_JOINTS[num_joints])


def _read_json(files: list[Path], format: str) -> tuple[dict[int, FramePoses], int]:
    """{frame: poses} from an AlphaPose results file or an mmpose inferencer predictions file."""
    path = files[0]
    try:
        data = json.loads(path.read_text())
        people = _alphapose(data) if format == "alphapose" else _mmpose(data)
    except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError, ValueError) as e:
        raise InputError(f"{path}: not an {format} file ({type(e).__name__}: {e})") from None
    frames, num_joints = {}, None
    for frame, items in people.items():
        xy = np.array([k for k, _, _ in items], np.float32).reshape(len(items), -1, 2)
        num_joints = num_joints or xy.shape[1]
        if xy.shape[1] != num_joints:
            raise InputError(f"{path}: frame {frame} has {xy.shape[1]} keypoints per person, others {num_joints}")
        scores = np.array([s for _, s, _ in items], np.float32).reshape(len(items), -1)
        boxes = np.array([b for _, _, b in items], np.float32).reshape(len(items), 4)
        xy[scores <= 0] = np.nan  # a zero-confidence keypoint is one the estimator did not find
        frames[frame] = FramePoses(xy, scores, boxes)
    return frames, num_joints


def _alphapose(data) -> dict[int, list]:
    """AlphaPose ``alphapose-results.json``: [{image_id: "12.jpg", keypoints: [x, y, s] * V, box: [x, y, w, h]}]."""
    frames = {}
    for item in data:
        frame = int(re.sub(r"\D", "", Path(str(item["image_id"])).stem) or 0)
        values = np.asarray(item["keypoints"], np.float32).reshape(-1, 3)
        x, y, w, h = item.get("box") or (np.nan,) * 4
        frames.setdefault(frame, []).append((values[:, :2], values[:, 2], (x, y, x + w, y + h)))
    return frames


def _mmpose(data) -> dict[int, list]:
    """mmpose inferencer predictions: video [{frame_id, instances: [{keypoints, keypoint_scores, bbox}]}]."""
    frames = {}
    for position, item in enumerate(data):
        frame = int(item.get("frame_id", position))
        for person in item["instances"]:
            box = np.asarray(person.get("bbox") or [[np.nan] * 4], np.float32).reshape(-1)[:4]
            frames.setdefault(frame, []).append(
                (
                    np.asarray(person["keypoints"], np.float32)[:, :2],
                    np.asarray(person["keypoint_scores"], np.float32),
                    box,
                )
            )
    return frames
