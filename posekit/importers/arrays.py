"""Bring your own arrays: clips from .npz files and from long or wide CSV tables (data_schemas/arrays.md)."""

from __future__ import annotations

import difflib
import io
import re
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputError
from ..layouts import generic_layout
from ..registry import IMPORTERS
from ..store.format import COORDINATES
from .base import ImportedDataset, check_row_lengths, expand, fail, first_then_rest, guarded, iter_files
from .named_joints import joint_columns, make_clip, resolve_layout, unnamed_joint_order

# -- npz ------------------------------------------------------------------------------------------------------
NPZ_KEYS = {
    "keypoints",
    "scores",
    "frame_index",
    "track_id",
    "lengths",
    "id",
    "label",
    "fps",
    "joint_names",
    "classes",
    "image_size",
    "split",
}


@IMPORTERS.register_module("npz", suffixes=(".npz",))
def read_npz(
    sources, *, layout=None, max_persons=None, fps=None, joint_names=None, joint_order=None, coordinates="pixel"
) -> ImportedDataset:
    """One .npz = one clip, or several stacked along frames when it has ``lengths`` (data_schemas/arrays.md).

    A file without a ``joint_names`` array has its joints named by ``joint_names`` (a text file, one name per
    line) or taken in the --layout's order on ``joint_order="layout"``; with neither, they are ``joint_0``...
    without a --layout, and with one an error, for their order cannot be told from the numbers."""
    coordinates = coordinates_option(coordinates)
    unnamed = unnamed_joint_order(layout, joint_names, joint_order)
    files = expand(sources, (".npz",))
    first = guarded(files[0], _load_npz)
    num_joints = first["keypoints"].shape[-2]
    if layout is None and unnamed is None and "joint_names" not in first:
        chosen = generic_layout(num_joints)
        unnamed = list(chosen.joints)  # no names and no layout: anonymous joints, nothing to guess
    else:
        joints = _joint_names(files[0], first, unnamed, layout)
        chosen = resolve_layout(layout, f"npz-{num_joints}", joints, path=files[0])
    # Clips index classes, so the class list is settled before the first clip: given names, else labels numbered.
    if "classes" in first:
        classes = [str(c) for c in first["classes"]]
    else:
        labels = [first.get("label")] + [guarded(path, _npz_labels) for path in files[1:]]
        classes = numbered_classes(labels)
    load = first_then_rest(files[0], first, _load_npz)

    def read_one(path):
        arrays = load(path)
        if [str(c) for c in arrays.get("classes", classes)] != classes:
            raise fail(path, f"classes differ from those of {files[0].name}")
        yield from _npz_clips(path, arrays, _joint_names(path, arrays, unnamed, layout), chosen, max_persons, fps)

    return ImportedDataset(
        layout=chosen,
        clips=iter_files(files, read_one),
        classes=classes,
        coord_dims=int(first["keypoints"].shape[-1]),
        coordinates=coordinates,
        provenance={"source_format": "npz"},
    )


def coordinates_option(value: str) -> str:
    """``-O coordinates=...``: one of the store's coordinate kinds (data_schemas/store.md)."""
    if value not in COORDINATES:
        close = difflib.get_close_matches(value, COORDINATES, n=1)
        raise InputError(
            f"-O coordinates={value}: coordinates are one of {', '.join(COORDINATES)}"
            + (f" (did you mean {close[0]}?)" if close else "")
        )
    return value


def _joint_names(path, arrays, unnamed, layout) -> list[str]:
    """The names of a file's joints in its order: its ``joint_names`` array, else those the user gave."""
    count = arrays["keypoints"].shape[-2]
    if "joint_names" in arrays:
        names, origin = [str(j) for j in arrays["joint_names"]], "joint names"
    elif unnamed is not None:
        names, origin = unnamed, "names for its unnamed joints (-O joint_names / joint_order)"
    else:
        confirm = (
            f", or -O joint_order=layout if they are in {layout}'s order (`posekit layouts {layout}`)"
            if layout is not None
            else ""
        )
        raise fail(
            path,
            f"{count} joints without names, whose order posekit cannot guess: add a joint_names "
            f"array to the npz, or give -O joint_names=FILE (one name per line, in the file's "
            f"order){confirm}",
        )
    if len(names) != count:
        raise fail(path, f"{count} joints in keypoints but {len(names)} {origin}")
    return names


def numbered_classes(labels) -> list[str]:
    """Class names "0" ... "N" for whole-number labels given without names."""
    top = max((int(np.max(v)) for v in labels if v is not None and np.size(v)), default=-1)
    return [str(i) for i in range(top + 1)]


def _npz_labels(path):
    with np.load(path, allow_pickle=False) as npz:
        return npz["label"] if "label" in npz.files else None


def _load_npz(path) -> dict:
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except ValueError as e:
        raise fail(path, f"not a plain .npz of arrays ({e})") from None
    if "keypoints" not in arrays:
        raise fail(path, f"no 'keypoints' array (found: {', '.join(sorted(arrays)) or 'none'})")
    unknown = sorted(set(arrays) - NPZ_KEYS)
    if unknown:
        raise fail(path, f"unknown arrays {', '.join(unknown)}; expected some of {', '.join(sorted(NPZ_KEYS))}")
    kp = arrays["keypoints"]
    if kp.ndim not in (3, 4) or kp.shape[-1] not in (2, 3):
        raise fail(path, f"keypoints must be (T, V, C) or (T, M, V, C) with C = 2 or 3, got {kp.shape}")
    return arrays


def _npz_clips(path, arrays, joints, layout, max_persons, fps):
    kp = arrays["keypoints"].astype(np.float32)
    single = kp.ndim == 3  # (T, V, C): one person
    if single:
        kp = kp[:, None]
    scores = arrays.get("scores")
    if scores is not None:
        scores = scores[:, None] if single else scores
        if scores.shape != kp.shape[:3]:
            raise fail(
                path, f"scores must match keypoints {arrays['keypoints'].shape[:-1]}, got {arrays['scores'].shape}"
            )
    track_id = arrays.get("track_id")
    if track_id is not None and track_id.shape != kp.shape[:2]:
        raise fail(path, f"track_id must be (T, M) = {kp.shape[:2]}, got {track_id.shape}")
    frames = arrays.get("frame_index")
    if frames is not None and frames.shape != kp.shape[:1]:
        raise fail(path, f"frame_index must be (T,) = ({len(kp)},), got {frames.shape}")

    several = "lengths" in arrays
    lengths = arrays["lengths"].astype(np.int64).ravel() if several else np.array([len(kp)])
    if lengths.sum() != len(kp) or (lengths <= 0).any():
        raise fail(path, f"lengths sum to {lengths.sum()} but keypoints has {len(kp)} frames")
    per_clip = {}
    for key in ("id", "label", "fps", "split"):
        if key in arrays:
            value = arrays[key].ravel()
            if value.size != len(lengths) and not (key == "fps" and value.size == 1):
                raise fail(path, f"{key} must have one value per clip ({len(lengths)}), got {value.size}")
            per_clip[key] = np.broadcast_to(value, lengths.shape)
    ids = per_clip.get("id", [path.stem] if not several else [f"{path.stem}.{i}" for i in range(len(lengths))])
    image_size = tuple(int(v) for v in arrays["image_size"]) if "image_size" in arrays else (0, 0)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    for i, (start, n) in enumerate(zip(starts, lengths)):
        rows = slice(start, start + n)
        yield make_clip(
            str(ids[i]),
            kp[rows],
            None if scores is None else scores[rows],
            joints=joints,
            layout=layout,
            path=path,
            track_id=None if track_id is None else track_id[rows],
            max_persons=max_persons,
            frame_index=np.arange(n) if frames is None else frames[rows],
            label=int(per_clip["label"][i]) if "label" in per_clip else -1,
            fps=float(fps if fps is not None else per_clip["fps"][i] if "fps" in per_clip else np.nan),
            image_size=image_size,
            splits=split_names(per_clip["split"][i]) if "split" in per_clip else (),
        )


def split_names(value) -> tuple[str, ...]:
    """A clip's splits from a cell: one name, or several separated by '+' (e.g. "train+xview_train")."""
    return tuple(name.strip() for name in str(value).split("+") if name.strip()) if value == value else ()


# -- csv ------------------------------------------------------------------------------------------------------
LONG_COLUMNS = ("clip", "frame", "person", "joint", "x", "y", "z", "score", "label", "split")
WIDE_SUFFIXES = ("x", "y", "z", "score")
WIDE_KEYS = ("clip", "frame", "person", "label", "split")


@IMPORTERS.register_module("csv", suffixes=(".csv",))
def read_csv(sources, *, layout=None, max_persons=None, fps=None, coordinates="pixel") -> ImportedDataset:
    """Long (one row per frame, person, joint) or wide (one row per frame, person) CSV tables."""
    coordinates = coordinates_option(coordinates)
    files = expand(sources, (".csv",))
    first = guarded(files[0], _load_table)
    chosen = resolve_layout(layout, f"csv-{len(first.joints)}", first.joints, path=files[0])
    # Clips index classes, so the label columns of all files are read before the first clip.
    names = _classes([first.rows.get("label")] + [guarded(path, _label_column) for path in files[1:]])
    load = first_then_rest(files[0], first, _load_table)

    def read_one(path):
        table = load(path)
        yield from table.clips(path, chosen, names, max_persons, fps)

    return ImportedDataset(
        layout=chosen,
        clips=iter_files(files, read_one),
        classes=names,
        coord_dims=first.coord_dims,
        coordinates=coordinates,
        provenance={"source_format": "csv"},
    )


class _Table:
    """A CSV in long form: one row per (clip, frame, person, joint) with its coordinates and score."""

    def __init__(self, path: Path, frame: pd.DataFrame, joints: list[str], coord_dims: int):
        self.path, self.rows, self.joints, self.coord_dims = path, frame, joints, coord_dims

    def clips(self, path, layout, class_names, max_persons, fps):
        rows, coords = self.rows, ["x", "y", "z"][: self.coord_dims]
        joint_of = dict(zip(self.joints, joint_columns(self.joints, layout, path)))
        joint = rows["joint"].map(joint_of).to_numpy()
        person = rows["person"]
        # Whole-number persons are track ids as given; named persons are numbered in order of first appearance.
        person_codes = person.to_numpy() if pd.api.types.is_integer_dtype(person) else pd.factorize(person)[0]
        for clip_id, part in rows.groupby("clip", sort=False):
            index = part.index.to_numpy()
            frames, frame_row = np.unique(part["frame"].to_numpy(), return_inverse=True)
            slots, slot = np.unique(person_codes[index], return_inverse=True)
            kp = np.full((len(frames), len(slots), layout.num_joints, self.coord_dims), np.nan, np.float32)
            kp[frame_row, slot, joint[index]] = part[coords].to_numpy(np.float32)
            scores = None
            if "score" in part:
                scores = np.full(kp.shape[:3], np.nan, np.float32)
                scores[frame_row, slot, joint[index]] = part["score"].to_numpy(np.float32)
            track = np.broadcast_to(slots.astype(np.int32), kp.shape[:2])
            yield make_clip(
                str(clip_id),
                kp,
                scores,
                joints=layout.joints,
                layout=layout,
                path=path,
                track_id=track,
                max_persons=max_persons,
                frame_index=frames,
                label=self._label(part, class_names),
                fps=float(np.nan if fps is None else fps),
                splits=self._splits(part),
            )

    def _splits(self, part) -> tuple[str, ...]:
        if "split" not in part:
            return ()
        values = part["split"].dropna().unique()
        if len(values) > 1:
            raise fail(
                self.path,
                f"clip {part['clip'].iloc[0]!r} has several split cells: "
                f"{', '.join(map(str, values))}; name several splits in one cell as a+b",
            )
        return split_names(values[0]) if len(values) else ()

    def _label(self, part, class_names) -> int:
        if "label" not in part:
            return -1
        values = part["label"].dropna().unique()
        if len(values) > 1:
            raise fail(self.path, f"clip {part['clip'].iloc[0]!r} has several labels: {', '.join(map(str, values))}")
        if not len(values):
            return -1
        return int(values[0]) if pd.api.types.is_numeric_dtype(part["label"]) else class_names.index(str(values[0]))


def _classes(columns) -> list[str]:
    """Sorted label names, or "0" ... "N" when every label column holds whole numbers (class indices)."""
    columns = [c.dropna() for c in columns if c is not None]
    if all(pd.api.types.is_numeric_dtype(c) for c in columns):
        return numbered_classes([c.to_numpy() for c in columns])
    return sorted({str(v) for c in columns for v in c.unique()})


def _label_column(path):
    return pd.read_csv(path, usecols=lambda c: c.strip() == "label", skipinitialspace=True).get("label")


def _load_table(path) -> _Table:
    text = Path(path).read_text()
    lines = text.splitlines()
    if not lines:
        raise fail(path, "empty file")
    check_row_lengths(path, lines, lines[0].count(",") + 1, start=1)
    frame = pd.read_csv(io.StringIO(text), skipinitialspace=True)
    columns = list(frame.columns)
    if "joint" in columns:
        unknown = [c for c in columns if c not in LONG_COLUMNS]
        missing = [c for c in ("frame", "joint", "x", "y") if c not in columns]
        if unknown or missing:
            problem = f"missing {', '.join(missing)}" if missing else f"unknown columns {', '.join(unknown)}"
            raise fail(
                path,
                f"long CSV header needs frame, joint, x, y (optional clip, person, z, score, label, split); {problem}",
            )
        joints = [str(j) for j in pd.unique(frame["joint"].astype(str))]
        frame["joint"] = frame["joint"].astype(str)
    elif any(str(c).endswith("_x") for c in columns):
        frame, joints = _melt_wide(path, frame)
    else:
        raise fail(path, "header is neither long (frame, joint, x, y, ...) nor wide (frame, <joint>_x, <joint>_y, ...)")
    if "frame" not in frame:
        raise fail(path, "no 'frame' column")
    if frame["frame"].isna().any() or not pd.api.types.is_integer_dtype(frame["frame"]):
        raise fail(path, "the 'frame' column must hold whole numbers in every row (truncated file?)")
    frame["clip"] = frame["clip"].astype(str) if "clip" in frame else Path(path).stem
    if "person" not in frame:
        frame["person"] = 0
    coord_dims = 3 if "z" in frame else 2
    if not all(pd.api.types.is_numeric_dtype(frame[c]) for c in ("x", "y", "z", "score") if c in frame):
        raise fail(path, "x, y, z and score columns must hold numbers")
    if frame[["clip", "frame", "person", "joint"]].duplicated().any():
        raise fail(path, "the same (clip, frame, person, joint) appears in more than one row")
    return _Table(Path(path), frame.reset_index(drop=True), joints, coord_dims)


def _melt_wide(path, frame: pd.DataFrame):
    """Wide columns <joint>_x, <joint>_y[, <joint>_z][, <joint>_score] turned into long rows."""
    keys = [c for c in frame.columns if c in WIDE_KEYS]
    parsed = [re.fullmatch(r"(.+)_(x|y|z|score)", str(c)) for c in frame.columns if c not in WIDE_KEYS]
    if not all(parsed):
        bad = [c for c, m in zip([c for c in frame.columns if c not in WIDE_KEYS], parsed) if not m]
        raise fail(
            path,
            f"wide CSV columns must be frame, person, clip, label, split or <joint>_x/_y/_z/_score; "
            f"got {', '.join(map(str, bad))}",
        )
    joints = list(dict.fromkeys(m.group(1) for m in parsed))
    present = {(m.group(1), m.group(2)) for m in parsed}
    fields = [s for s in WIDE_SUFFIXES if any((j, s) in present for j in joints)]
    for j in joints:
        lacking = [s for s in fields if (j, s) not in present]
        if lacking:
            raise fail(path, f"joint {j!r} lacks column(s) {', '.join(f'{j}_{s}' for s in lacking)}")
    if "x" not in fields or "y" not in fields:
        raise fail(path, "wide CSV needs <joint>_x and <joint>_y columns")
    n, v = len(frame), len(joints)
    long = pd.DataFrame({k: np.repeat(frame[k].to_numpy(), v) for k in keys})
    long["joint"] = np.tile(joints, n)
    for s in fields:
        long[s] = frame[[f"{j}_{s}" for j in joints]].to_numpy().reshape(-1)
    return long, joints
