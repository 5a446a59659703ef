"""COCO keypoint annotations: ``images``, ``annotations`` (``keypoints`` [x, y, v] * V, ``bbox`` x y w h) and
``categories`` (keypoint names, 1-based ``skeleton`` pairs).

One clip per image (one frame) by default. Images that carry ``vid_id`` and ``frame_id`` (PoseTrack) are grouped
into one clip per video, frames in ``frame_id`` order, persons in slots by ``track_id``. A keypoint with v == 0 is
not labelled (NaN); its score is v / 2 (1 = labelled but occluded, 2 = visible). The layout is coco-17 when the
category's keypoint names are COCO's, otherwise one built from the category's names and skeleton.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path, PurePosixPath

import numpy as np

from ..errors import InputError
from ..layouts import Layout, chain_layout, get_layout
from ..registry import IMPORTERS
from ..store import Clip
from .base import ImportedDataset, expand, fail


@IMPORTERS.register_module("coco", suffixes=(".json",))
def read_coco(sources: list[Path], *, layout=None, max_persons=None, fps=None) -> ImportedDataset:
    files = expand(sources, (".json",))
    if len(files) != 1:
        raise InputError(f"coco: expected one annotation JSON, got {len(files)} ({', '.join(map(str, files[:3]))})")
    path = files[0]
    try:
        data = json.loads(path.read_text())
        category = next((c for c in data["categories"] if c.get("keypoints")), None)
        if category is None:
            raise fail(path, "no category with keypoint names")
        # The category names the joints: a --layout is applied by the convert driver, which maps them by name.
        chosen = _layout(category)
        wanted = {c["id"] for c in data["categories"] if c.get("keypoints") == category["keypoints"]}
        by_image = defaultdict(list)
        for ann in data["annotations"]:
            if ann.get("category_id") in wanted and ann.get("keypoints"):
                by_image[ann["image_id"]].append(ann)
        groups = _group(data["images"])
    except InputError:
        raise
    except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError, AttributeError, ValueError) as e:
        raise fail(path, f"not a COCO keypoint file ({type(e).__name__}: {e})") from None
    return ImportedDataset(
        layout=chosen,
        coord_dims=2,
        coordinates="pixel",
        name=path.stem,
        clips=_clips(path, groups, by_image, len(category["keypoints"]), max_persons, fps),
        provenance={"source_format": "coco", "file": path.name, "category": category.get("name")},
    )


def _layout(category: dict) -> Layout:
    names = [str(n).strip().lower().replace(" ", "_").replace("-", "_") for n in category["keypoints"]]
    coco = get_layout("coco-17")
    if tuple(names) == coco.joints:
        return coco
    edges = [
        (names[a - 1], names[b - 1])
        for a, b in category.get("skeleton") or ()
        if 0 < a <= len(names) and 0 < b <= len(names)
    ]
    return chain_layout(category.get("name") or "coco-category", names, edges)


def _group(images: list) -> dict:
    """{clip id: [image, ...] in frame order}: one image per clip, or one video per clip (PoseTrack)."""
    groups = defaultdict(list)
    for image in images:
        name = PurePosixPath(str(image.get("file_name", image["id"])))
        if "vid_id" in image and "frame_id" in image:
            groups[name.parent.name or str(image["vid_id"])].append(image)
        else:
            groups[str(name.with_suffix(""))].append(image)
    for members in groups.values():
        members.sort(key=lambda im: im.get("frame_id", 0))
    return groups


def _clips(path: Path, groups: dict, by_image: dict, num_joints: int, max_persons, fps):
    for clip_id, images in groups.items():
        try:
            clip = _clip(clip_id, images, by_image, num_joints, max_persons, fps)
        except (KeyError, TypeError, ValueError) as e:
            raise fail(path, f"clip {clip_id!r} is malformed ({type(e).__name__}: {e})") from None
        if clip is not None:
            yield clip


def _clip(clip_id: str, images: list, by_image: dict, num_joints: int, max_persons, fps) -> Clip | None:
    annotations = [by_image.get(im["id"], []) for im in images]
    if not any(annotations):
        return None  # an image without a labelled person is not a clip
    video = "vid_id" in images[0]
    tracks = sorted({a["track_id"] for anns in annotations for a in anns if "track_id" in a}) if video else []
    persons = len(tracks) or max(len(anns) for anns in annotations)
    persons = min(persons, max_persons) if max_persons else persons
    keypoints = np.full((len(images), persons, num_joints, 2), np.nan, np.float32)
    scores = np.zeros(keypoints.shape[:3], np.float32)
    boxes = np.full((len(images), persons, 4), np.nan, np.float32)
    for t, anns in enumerate(annotations):
        for rank, ann in enumerate(anns):
            slot = tracks.index(ann["track_id"]) if tracks else rank
            if slot >= persons:
                continue
            values = np.asarray(ann["keypoints"], np.float32).reshape(num_joints, 3)
            keypoints[t, slot] = np.where(values[:, 2:] > 0, values[:, :2], np.nan)
            scores[t, slot] = values[:, 2] / 2
            if len(ann.get("bbox") or ()) == 4:
                x, y, w, h = ann["bbox"]
                boxes[t, slot] = (x, y, x + w, y + h)
    first = images[0]
    track_id = None
    if tracks:
        present = ~np.isnan(keypoints).all(axis=(2, 3))
        track_id = np.where(present, np.asarray(tracks[:persons], np.int32), -1).astype(np.int32)
    return Clip(
        id=clip_id,
        keypoints=keypoints,
        scores=scores,
        box=boxes,
        track_id=track_id,
        frame_index=np.asarray([_frame_number(im, t) for t, im in enumerate(images)]) if video else None,
        fps=float(fps) if fps and video else float("nan"),
        image_size=(int(first.get("width", 0)), int(first.get("height", 0))),
        source=str(first.get("file_name", "")) if not video else f"{clip_id}/",
    )


def _frame_number(image: dict, position: int) -> int:
    """PoseTrack names frames by number (``.../000042.jpg``); otherwise the position in the video."""
    stem = PurePosixPath(str(image.get("file_name", ""))).stem
    return int(stem) if stem.isdigit() else position
