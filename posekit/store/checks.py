"""What a store must satisfy, in one place for the writer, the reader and ``posekit store validate``.

``structural_problems``: the written schema, then what a schema cannot say (offsets tile the frame axis, ids
unique, labels within the classes, rows aligned, attributes that parse). It reads metadata only (attributes,
shapes, the clip table, splits): O(clips), no frame array, so the reader runs it on every open.
``keypoint_problem``: the writer's refusals of a clip's keypoints, which validate applies to stored clips.
"""

from __future__ import annotations

import json

import h5py
import jsonschema
import numpy as np

from ..layouts import Layout
from ..package_data import load_schema
from .format import CLASS_FEATURES, FORMAT_VERSION

STORE_SCHEMA = "store.schema.json"  # in data_schemas/
# What h5py raises when the file's own structure (object headers, B-trees, heaps) is damaged or cut short.
DAMAGED_FILE_ERRORS = (OSError, RuntimeError, KeyError, ValueError, TypeError)


def describe(f: h5py.File) -> dict:
    """The file as a JSON document the schema can check: groups, datasets (dtype kind, shape) and attributes.
    An object h5py cannot open (a truncated file, a dangling link) is described as ``"unreadable"``."""

    def node(obj):
        if isinstance(obj, h5py.Dataset):
            kind = "string" if h5py.check_string_dtype(obj.dtype) else obj.dtype.kind
            return {"kind": kind, "shape": list(obj.shape)}
        if isinstance(obj, h5py.Group):
            return {name: node(child) for name, child in obj.items()}
        return "unreadable"

    attrs = {k: (v.item() if isinstance(v, np.generic) else v) for k, v in f.attrs.items()}
    attrs = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in attrs.items()}
    return {"attrs": attrs, **node(f)}


def structural_problems(f: h5py.File) -> list[str]:
    """Problems of an open store's structure (each one line, without the file name); empty when sound."""
    try:
        doc = describe(f)
        problems = [
            f"{'/'.join(map(str, e.absolute_path)) or 'file'}: {e.message}"
            for e in jsonschema.Draft202012Validator(load_schema(STORE_SCHEMA)).iter_errors(doc)
        ]
        return problems or _consistency(f)
    except _DamagedDataset as e:
        return [str(e)]
    except DAMAGED_FILE_ERRORS as e:
        return [f"the file's structure cannot be read ({e}); it is damaged or truncated"]


def keypoint_problem(keypoints: np.ndarray, *, allow_empty: bool) -> str | None:
    """Why a clip's keypoints (T, M, V, C) cannot be stored, or None: the writer refuses infinite coordinates
    always, and, unless the store allows empty clips, zero frames or no valid joint at all."""
    if np.isinf(keypoints).any():
        return "infinite coordinates"
    if allow_empty:
        return None
    if keypoints.shape[0] == 0:
        return "zero frames"
    if keypoints.shape[1] == 0 or np.isnan(keypoints).all():
        return "no person has a single valid joint"
    return None


def allows_empty(f: h5py.File) -> bool:
    """Whether the store's writer accepted empty clips; stores written before the attribute existed may have."""
    return bool(f.attrs.get("allow_empty", True))


def parse_provenance(text) -> list[dict] | None:
    """The provenance attribute's steps, or None when it is not a JSON list of objects."""
    try:
        steps = json.loads(text)
    except (ValueError, TypeError):
        return None
    return steps if isinstance(steps, list) and all(isinstance(step, dict) for step in steps) else None


class _DamagedDataset(Exception):
    """A metadata read that failed its checksum or decompression; the message names the dataset."""


def _read(ds: h5py.Dataset) -> np.ndarray:
    try:
        return ds.asstr()[()] if h5py.check_string_dtype(ds.dtype) else ds[()]
    except OSError as e:
        raise _DamagedDataset(f"{ds.name.lstrip('/')}: damaged or truncated data, the read failed ({e})") from None


def _consistency(f: h5py.File) -> list[str]:
    problems = []
    if int(f.attrs["format_version"]) > FORMAT_VERSION:
        problems.append(f"format_version {f.attrs['format_version']} is newer than this posekit reads")
    try:
        layout = Layout.from_json(f.attrs["layout"])
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        return [f"attribute layout is not a valid layout: {e}"]
    if parse_provenance(f.attrs["provenance"]) is None:
        problems.append("attribute provenance is not a JSON list of steps")
    frames, clips = f["frames"], f["clips"]
    kp = frames["keypoints"]
    num_frames, num_persons, num_joints = kp.shape[0], kp.shape[1], layout.num_joints
    if kp.shape[2] != num_joints:
        problems.append(f"keypoints have {kp.shape[2]} joints, layout {layout.name!r} has {num_joints}")
    if kp.shape[3] != int(f.attrs["coord_dims"]):
        problems.append(f"keypoints have {kp.shape[3]} coordinates, attribute coord_dims is {f.attrs['coord_dims']}")
    trailing = {"scores": (num_joints,), "box": (4,), "keypoints_3d": (num_joints, 3)}
    for name, ds in frames.items():
        if ds.shape[0] != num_frames:
            problems.append(f"frames/{name} has {ds.shape[0]} rows, frames/keypoints {num_frames}")
        if name in ("scores", "track_id", "box", "keypoints_3d") and ds.shape[1] != num_persons:
            problems.append(f"frames/{name} has {ds.shape[1]} persons, frames/keypoints {num_persons}")
        if name in trailing and tuple(ds.shape[2:]) != trailing[name]:
            expected = ", ".join(map(str, trailing[name]))
            problems.append(f"frames/{name} has shape {ds.shape}, expected (F, M, {expected})")
    num_clips = clips["id"].shape[0]
    for name, ds in list(clips.items()) + list(f["features"].items()):
        if ds.shape[0] != num_clips:
            problems.append(f"{ds.name} has {ds.shape[0]} rows for {num_clips} clips")
    if clips["image_size"].shape[1:] != (2,):
        problems.append(f"clips/image_size has shape {clips['image_size'].shape}, expected (N, 2)")
    num_classes = f["classes/name"].shape[0]
    if f["classes/description"].shape[0] != num_classes:
        problems.append(
            f"classes/description has {f['classes/description'].shape[0]} rows for {num_classes} class names"
        )
    for ds in f.get(CLASS_FEATURES, {}).values():
        if ds.shape[0] != num_classes:
            problems.append(f"{ds.name} has {ds.shape[0]} rows for {num_classes} classes")
    if problems:
        return problems
    offsets, lengths = _read(clips["offset"]), _read(clips["length"])
    if (lengths < 0).any():
        problems.append("negative clip lengths")
    elif num_clips and (
        offsets[0] != 0 or (offsets[1:] != offsets[:-1] + lengths[:-1]).any() or offsets[-1] + lengths[-1] != num_frames
    ):
        problems.append("clip offsets do not tile the frame axis (clips must be stored back to back)")
    elif not num_clips and num_frames:
        problems.append(f"{num_frames} frames but no clips")
    ids = _read(clips["id"])
    if len(set(ids)) != len(ids):
        values, counts = np.unique(ids, return_counts=True)
        problems.append(f"duplicate clip ids: {', '.join(values[counts > 1][:5])}")
    if (ids == "").any():
        problems.append(f"{int((ids == '').sum())} empty clip ids")
    labels = _read(clips["label"])
    bad = (labels != -1) & ((labels < 0) | (labels >= num_classes))
    if bad.any():
        problems.append(
            f"{int(bad.sum())} clip labels outside the {num_classes} classes "
            f"(e.g. clip {ids[np.argmax(bad)]!r} has {labels[np.argmax(bad)]})"
        )
    for name, ds in f["splits"].items():
        idx = _read(ds)
        if len(idx) and (idx.min() < 0 or idx.max() >= num_clips):
            problems.append(f"split {name!r} has clip indices outside 0..{num_clips - 1}")
        if (np.diff(idx) <= 0).any():
            problems.append(f"split {name!r} indices are not sorted and unique")
    if "labels" in frames and frames["labels"].shape[1] > num_classes:
        problems.append(f"frames/labels has {frames['labels'].shape[1]} columns for {num_classes} classes")
    return problems
