"""``posekit store validate``: check a file against the written store schema and its internal consistency.

The machine-readable schema (``posekit/schemas/store.schema.json``, copied in ``data_schemas/``) lists every
group, dataset, dtype, rank and attribute; the checks here add what a schema cannot say: offsets that tile the
frame axis, split indices in range, labels within the class list, arrays aligned on the same number of rows.
"""
from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import h5py
import jsonschema
import numpy as np

from ..layouts import Layout
from .format import FORMAT, FORMAT_VERSION


def load_schema() -> dict:
    return json.loads(resources.files("posekit").joinpath("schemas/store.schema.json").read_text())


def describe(f: h5py.File) -> dict:
    """The file as a JSON document the schema can check: groups, datasets (dtype kind, shape) and attributes."""
    def node(obj):
        if isinstance(obj, h5py.Dataset):
            kind = "string" if h5py.check_string_dtype(obj.dtype) else obj.dtype.kind
            return {"kind": kind, "shape": list(obj.shape)}
        return {name: node(child) for name, child in obj.items()}

    attrs = {k: (v.item() if isinstance(v, np.generic) else v) for k, v in f.attrs.items()}
    attrs = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in attrs.items()}
    return {"attrs": attrs, **node(f)}


def validate(path: str | Path) -> list[str]:
    """Problems found in a store file; an empty list means valid."""
    path = Path(path)
    try:
        f = h5py.File(path, "r")
    except OSError as e:
        return [f"{path}: not a readable HDF5 file ({e})"]
    with f:
        doc = describe(f)
        if doc["attrs"].get("format") != FORMAT:
            return [f"{path}: not a posekit store (attribute format is {doc['attrs'].get('format')!r})"]
        problems = [f"{path}: {'/'.join(map(str, e.absolute_path)) or 'file'}: {e.message}"
                    for e in jsonschema.Draft202012Validator(load_schema()).iter_errors(doc)]
        if problems:
            return problems
        return [f"{path}: {p}" for p in _consistency(f)]


def _consistency(f: h5py.File) -> list[str]:
    problems = []
    if int(f.attrs["format_version"]) > FORMAT_VERSION:
        problems.append(f"format_version {f.attrs['format_version']} is newer than this posekit reads")
    try:
        layout = Layout.from_json(f.attrs["layout"])
    except (ValueError, KeyError) as e:
        return [f"attribute layout is not a valid layout: {e}"]
    frames, clips = f["frames"], f["clips"]
    kp = frames["keypoints"]
    num_frames, num_persons = kp.shape[0], kp.shape[1]
    if kp.shape[2] != layout.num_joints:
        problems.append(f"keypoints have {kp.shape[2]} joints, layout {layout.name!r} has {layout.num_joints}")
    if kp.shape[3] != int(f.attrs["coord_dims"]):
        problems.append(f"keypoints have {kp.shape[3]} coordinates, attribute coord_dims is {f.attrs['coord_dims']}")
    for name, ds in frames.items():
        if ds.shape[0] != num_frames:
            problems.append(f"frames/{name} has {ds.shape[0]} rows, frames/keypoints {num_frames}")
        if name in ("scores", "track_id", "box", "keypoints_3d") and ds.shape[1] != num_persons:
            problems.append(f"frames/{name} has {ds.shape[1]} persons, frames/keypoints {num_persons}")
    num_clips = clips["id"].shape[0]
    for name, ds in list(clips.items()) + list(f["features"].items()):
        if ds.shape[0] != num_clips:
            problems.append(f"{ds.name} has {ds.shape[0]} rows for {num_clips} clips")
    if problems:
        return problems
    offsets, lengths = clips["offset"][()], clips["length"][()]
    if (lengths < 0).any():
        problems.append("negative clip lengths")
    elif num_clips and (offsets[0] != 0 or (offsets[1:] != offsets[:-1] + lengths[:-1]).any()
                        or offsets[-1] + lengths[-1] != num_frames):
        problems.append("clip offsets do not tile the frame axis (clips must be stored back to back)")
    ids = clips["id"].asstr()[()]
    if len(set(ids)) != len(ids):
        values, counts = np.unique(ids, return_counts=True)
        problems.append(f"duplicate clip ids: {', '.join(values[counts > 1][:5])}")
    num_classes = f["classes/name"].shape[0]
    labels = clips["label"][()]
    bad = (labels < -1) | (labels >= max(num_classes, 0)) & (labels != -1)
    if bad.any():
        problems.append(f"{int(bad.sum())} clip labels outside the {num_classes} classes")
    if f["classes/description"].shape[0] != num_classes:
        problems.append("classes/description and classes/name differ in length")
    for name, ds in f["splits"].items():
        idx = ds[()]
        if len(idx) and (idx.min() < 0 or idx.max() >= num_clips):
            problems.append(f"split {name!r} has clip indices outside 0..{num_clips - 1}")
        if (np.diff(idx) <= 0).any():
            problems.append(f"split {name!r} indices are not sorted and unique")
    if "labels" in frames and frames["labels"].shape[1] > num_classes:
        problems.append(f"frames/labels has {frames['labels'].shape[1]} columns for {num_classes} classes")
    try:
        json.loads(f.attrs.get("provenance", "[]"))
    except ValueError:
        problems.append("attribute provenance is not JSON")
    return problems
