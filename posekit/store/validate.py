"""``posekit store validate``: the structural checks, then the stored clips against the writer's rules.

The structure (``checks.structural_problems``: the written schema ``data_schemas/store.schema.json``, then
offsets, ids, labels, rows, attributes) is what the reader also checks on opening.
Validate then reads every clip's keypoints and applies the writer's refusals (``checks.keypoint_problem``), so a
damaged keypoint chunk also shows here, and decodes every clip's track names (a JSON list of strings); ``deep``
reads every chunk of every other dataset too and names the clips whose data HDF5 refuses to return (a Fletcher32
checksum mismatch, a chunk that does not decompress).
"""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np

from .checks import DAMAGED_FILE_ERRORS, allows_empty, keypoint_problem, structural_problems
from .format import FORMAT, decode_track_names

BLOCK_FRAMES = 1 << 14  # frames read at once: a few hundred chunks, a few MiB of keypoints
LISTED = 10  # clip ids named per problem


def validate(path: str | Path, *, deep: bool = False) -> list[str]:
    """Problems found in a store file, each one line naming the file; an empty list means valid."""
    path = Path(path)
    try:
        f = h5py.File(path, "r")
    except DAMAGED_FILE_ERRORS as e:
        return [f"{path}: not a readable HDF5 file ({e})"]
    with f:
        try:
            fmt = f.attrs.get("format")
        except DAMAGED_FILE_ERRORS as e:
            return [f"{path}: the file's attributes cannot be read ({e}); it is damaged or truncated"]
        if fmt != FORMAT:
            return [f"{path}: not a posekit store (attribute format is {fmt!r})"]
        problems = structural_problems(f) or _clip_problems(f, deep)
    return [f"{path}: {p}" for p in problems]


def _clip_problems(f: h5py.File, deep: bool) -> list[str]:
    clips = f["clips"]
    ids = clips["id"].asstr()[()]
    offsets, lengths = clips["offset"][()], clips["length"][()]
    refused: dict[str, list[int]] = {}
    damaged: dict[str, list[int]] = {}
    allow_empty = allows_empty(f)
    for index, keypoints in _clips_of(f["frames/keypoints"], offsets, lengths, damaged):
        problem = keypoint_problem(keypoints, allow_empty=allow_empty)
        if problem:
            refused.setdefault(problem, []).append(index)
    if deep:  # keypoints were read above
        datasets = []
        f.visititems(lambda name, obj: datasets.append(obj) if isinstance(obj, h5py.Dataset) else None)
        for ds in datasets:
            if ds.name != "/frames/keypoints":
                _scan(ds, offsets, lengths, damaged)
    problems = [
        f"{len(idx)} clips the writer refuses ({problem}): {_named(ids, idx)}" for problem, idx in refused.items()
    ]
    unreadable_names = _unreadable_track_names(clips)
    if unreadable_names:
        problems.append(
            f"clips/track_names: {len(unreadable_names)} clips whose track names are not a JSON list "
            f"of strings: {_named(ids, unreadable_names)}"
        )
    for name, idx in damaged.items():
        where = f" in {len(idx)} clips: {_named(ids, idx)}" if idx else ""
        problems.append(f"{name}: damaged data{where} (HDF5 refused to read it: checksum mismatch or bad compression)")
    return problems


def _unreadable_track_names(clips: h5py.Group) -> list[int]:
    """Indices of the clips whose optional ``track_names`` value does not decode."""
    if "track_names" not in clips:
        return []
    values = clips["track_names"].asstr()[()]
    return [index for index, text in enumerate(values) if decode_track_names(text) is None]


def _clips_of(ds: h5py.Dataset, offsets, lengths, damaged):
    """(index, frames) of every clip whose frames can be read, a block of clips per read; a block that fails is
    read clip by clip, and the clips that still fail go to ``damaged``."""
    ends = offsets + lengths
    first = 0
    while first < len(offsets):
        last = max(int(np.searchsorted(ends, offsets[first] + BLOCK_FRAMES, side="right")), first + 1)
        try:
            block = ds[offsets[first] : ends[last - 1]]
        except OSError:
            block = None
        for index in range(first, last):
            if block is not None:
                yield index, block[offsets[index] - offsets[first] : ends[index] - offsets[first]]
                continue
            try:
                yield index, ds[offsets[index] : ends[index]]
            except OSError:
                damaged.setdefault(ds.name.lstrip("/"), []).append(index)
        first = last


def _scan(ds: h5py.Dataset, offsets, lengths, damaged):
    """Read every chunk of ``ds``; the rows of a chunk HDF5 refuses are mapped to the clips they belong to."""
    name = ds.name.lstrip("/")
    selections = ds.iter_chunks() if ds.chunks and ds.size else [()]
    hit = set()
    for selection in selections:
        try:
            ds[selection]
        except OSError:
            rows = selection[0] if selection else slice(0, ds.shape[0])
            hit.update(_clips_at(name, rows, offsets, lengths))
            damaged.setdefault(name, [])
    if hit:
        damaged[name] = sorted(hit)


def _clips_at(name: str, rows: slice, offsets, lengths) -> range:
    """The clips that own ``rows`` of dataset ``name``: frames for /frames, clip rows for /clips and /features."""
    if name.startswith("frames/"):
        return range(
            int(np.searchsorted(offsets + lengths, rows.start, side="right")),
            int(np.searchsorted(offsets, rows.stop, side="left")),
        )
    if name.startswith(("clips/", "features/")):
        return range(rows.start, min(rows.stop, len(offsets)))
    return range(0)


def _named(ids: np.ndarray, indices: list[int]) -> str:
    names = ", ".join(ids[i] for i in indices[:LISTED])
    return names + (f" and {len(indices) - LISTED} more" if len(indices) > LISTED else "")
