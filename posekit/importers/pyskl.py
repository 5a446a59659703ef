"""pyskl / mmaction2 skeleton annotation pickles.

One pickle ``{'split': {name: [frame_dir, ...]}, 'annotations': [{frame_dir, total_frames, img_shape (h, w),
original_shape, label, keypoint (M, T, V, C), keypoint_score (M, T, V)}]}``. pyskl marks a missing joint with
zeros and score 0; those become NaN here. 3D pickles (NTU ``*_3danno.pkl``) have no ``keypoint_score`` and pad
absent persons with zeros, which also become NaN. Pickles written by posekit carry extra keys that pyskl
ignores, ``classes``, ``class_descriptions``, ``layout`` and ``coordinates``, and per annotation ``captions`` and
``features``, so a store survives the round trip with its class names and descriptions, joint names, kind of
coordinates, captions and per-clip features (per-class features, ``class_features``, are not read back).

Pickles can run code when loaded: they are read with an unpickler that only builds plain containers and numpy
arrays, so a foreign or hostile pickle is refused instead of executed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import InputError
from ..layouts import Layout, get_layout
from ..registry import IMPORTERS
from ..safe_pickle import load_pickle
from ..store import Clip, encode_captions
from .base import ImportedDataset, expand, fail

LAYOUT_BY_JOINTS = {13: "penn-13", 17: "coco-17", 18: "openpose-18", 20: "kinect-v1-20", 25: "ntu-25"}


@IMPORTERS.register_module("pyskl", suffixes=(".pkl", ".pickle"))
def read_pyskl(sources: list[Path], *, layout=None, max_persons=None, fps=None) -> ImportedDataset:
    files = expand(sources, (".pkl", ".pickle"))
    if len(files) != 1:
        raise InputError(f"pyskl: expected one annotation pickle, got {len(files)} ({', '.join(map(str, files[:3]))})")
    path = files[0]
    data = load_pickle(path)
    if not isinstance(data, dict) or not isinstance(data.get("annotations"), list):
        raise fail(path, "not a pyskl pickle (no 'annotations' list)")
    annotations = data["annotations"]
    if not annotations:
        raise fail(path, "no annotations")
    try:
        num_joints, dims = np.shape(annotations[0]["keypoint"])[-2:]
        labels = [int(a.get("label", -1)) for a in annotations]
        splits = {}
        for name, members in (data.get("split") or {}).items():
            for frame_dir in members:
                splits.setdefault(str(frame_dir), []).append(name)
    except (KeyError, IndexError, TypeError, AttributeError, ValueError) as e:
        raise fail(path, f"not a pyskl annotation list ({type(e).__name__}: {e})") from None
    chosen = _layout(layout, data.get("layout"), num_joints, path)
    classes = list(data.get("classes") or [str(i) for i in range(max(labels) + 1)])
    descriptions = data.get("class_descriptions")
    if descriptions is not None and len(descriptions) != len(classes):
        raise fail(path, f"{len(descriptions)} class_descriptions for {len(classes)} classes")
    # pyskl does not say what its coordinates are: 3D pickles (NTU) are metric, 2D ones pixels.
    coordinates = data.get("coordinates") or ("metric" if dims == 3 else "pixel")
    return ImportedDataset(
        layout=chosen,
        clips=_clips(path, annotations, splits, max_persons, fps),
        classes=classes,
        class_descriptions=[str(d) for d in descriptions] if descriptions is not None else None,
        coord_dims=int(dims),
        coordinates=coordinates,
        name=path.stem,
        provenance={"source_format": "pyskl", "file": path.name},
    )


def _layout(option, stored, num_joints: int, path: Path) -> Layout:
    """The layout posekit wrote into the pickle, else --layout (it names the joints), else one by joint count."""
    if stored:
        return Layout.from_dict(stored)
    if option is not None:
        return get_layout(option)
    if num_joints not in LAYOUT_BY_JOINTS:
        raise fail(path, f"{num_joints} joints: no default layout; name one with --layout")
    return get_layout(LAYOUT_BY_JOINTS[num_joints])


def _clips(path: Path, annotations, splits: dict, max_persons, fps):
    for i, ann in enumerate(annotations):
        try:
            yield _clip(ann, splits, max_persons, fps)
        except (KeyError, TypeError, ValueError) as e:
            name = ann.get("frame_dir", "?") if isinstance(ann, dict) else type(ann).__name__
            raise fail(path, f"annotation {i} ({name}) is malformed ({type(e).__name__}: {e})") from None


def _clip(ann: dict, splits: dict, max_persons, fps) -> Clip:
    keypoint = np.asarray(ann["keypoint"], np.float32)[:max_persons]
    if keypoint.ndim != 4:
        raise ValueError(f"keypoint must be (persons, frames, joints, coords), got {keypoint.shape}")
    score = ann.get("keypoint_score")
    score = np.asarray(score, np.float32)[:max_persons] if score is not None else None
    missing = (keypoint == 0).all(axis=-1)
    if score is not None:
        if score.shape != keypoint.shape[:3]:
            raise ValueError(f"keypoint_score {score.shape} does not match keypoint {keypoint.shape}")
        missing &= score == 0
    keypoint[missing] = np.nan
    if int(ann.get("total_frames", keypoint.shape[1])) != keypoint.shape[1]:
        raise ValueError(f"total_frames {ann['total_frames']} but keypoint has {keypoint.shape[1]} frames")
    height, width = ann.get("img_shape", (0, 0))
    frame_dir = str(ann["frame_dir"])
    return Clip(
        id=frame_dir,
        keypoints=keypoint.transpose(1, 0, 2, 3),
        scores=score.transpose(1, 0, 2) if score is not None else None,
        label=int(ann.get("label", -1)),
        image_size=(int(width), int(height)),
        source=frame_dir,
        splits=tuple(splits.get(frame_dir, ())),
        fps=float(fps) if fps else float("nan"),
        text=encode_captions(ann.get("captions", ())),
        features={str(name): np.asarray(row, np.float32) for name, row in (ann.get("features") or {}).items()},
    )
