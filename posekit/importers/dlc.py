"""DeepLabCut predictions and labelled data (.h5 written by pandas, read without pandas: see dlc_h5; or .csv with
3-4 header rows).

One clip per file (id = file stem; for labelled data, ``labeled-data/<video>/CollectedData_<scorer>``, the video
folder's name, with the image size read from the PNG frames beside it). Persons are the individuals of a
multi-animal file (one for a single-animal file). The layout is the individuals' body parts followed by the
"unique" body parts (DLC's individual ``single``), which are filled on person 0 only. The header rows are found
by their content (the ``coords`` row of x/y[/z]/likelihood and the ``bodyparts`` row above it), never by the
scorer row, which pandas may have mangled into "scorer.1", "scorer.2"... Labelled data (CollectedData) has no
likelihood: a labelled point scores 1.
"""

from __future__ import annotations

import csv
import io
import re
import struct
from dataclasses import dataclass
from pathlib import Path, PureWindowsPath

import h5py
import numpy as np
import pandas as pd

from ..registry import IMPORTERS
from .base import ImportedDataset, check_row_lengths, expand, fail, first_then_rest, guarded, iter_files
from .dlc_h5 import pandas_keys, read_frame
from .named_joints import make_clip, resolve_layout

SUFFIXES = (".h5", ".csv")
COORDS = ("x", "y", "z", "likelihood")
UNIQUE = "single"  # DeepLabCut's individual name for the unique body parts of a multi-animal project
LABELLED_PREFIX = "CollectedData_"  # labelled data: labeled-data/<video>/CollectedData_<scorer>.h5
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@dataclass
class Table:
    """A DLC file reduced to its columns (individual, bodypart, coord), values (T, columns) and row index."""

    scorer: str
    columns: list[tuple[str, str, str]]
    values: np.ndarray
    index: list

    @property
    def individuals(self) -> list[str]:
        return list(dict.fromkeys(i for i, _, _ in self.columns if i != UNIQUE)) or [UNIQUE]

    @property
    def joints(self) -> list[str]:
        animal = [b for i, b, _ in self.columns if i != UNIQUE]
        unique = [b for i, b, _ in self.columns if i == UNIQUE]
        return list(dict.fromkeys(animal)) + list(dict.fromkeys(unique))  # a name in both: refused as repeated

    @property
    def coord_dims(self) -> int:
        return 3 if any(c == "z" for _, _, c in self.columns) else 2


@IMPORTERS.register_module("dlc", suffixes=SUFFIXES)
def read_dlc(sources, *, layout=None, max_persons=None, fps=None) -> ImportedDataset:
    files = _prefer_h5(expand(sources, SUFFIXES))
    first = guarded(files[0], read_table)
    chosen = resolve_layout(layout, f"dlc-{first.scorer or files[0].stem}", first.joints, path=files[0])
    load = first_then_rest(files[0], first, read_table)

    def read_one(path):
        yield _clip(path, load(path), chosen, max_persons, fps)

    return ImportedDataset(
        layout=chosen,
        clips=iter_files(files, read_one),
        coord_dims=first.coord_dims,
        provenance={"source_format": "dlc", "scorer": first.scorer},
    )


def _prefer_h5(files: list[Path]) -> list[Path]:
    """DLC writes each table as both .h5 and .csv: keep the .h5 of such a pair so the clip is not read twice."""
    h5 = {p.with_suffix("") for p in files if p.suffix.lower() == ".h5"}
    return [p for p in files if p.suffix.lower() == ".h5" or p.with_suffix("") not in h5]


def read_table(path) -> Table:
    path = Path(path)
    return _read_h5(path) if path.suffix.lower() == ".h5" else _read_csv(path)


def _read_h5(path: Path) -> Table:
    if not h5py.is_hdf5(path):
        raise fail(path, "not an HDF5 file")
    try:
        with h5py.File(path, "r") as f:
            keys = pandas_keys(f)
            key = "/df_with_missing" if "/df_with_missing" in keys else keys[0] if len(keys) == 1 else None
            if key is None:
                raise fail(path, f"not a DeepLabCut .h5 (pandas tables: {', '.join(keys) or 'none'})")
            frame = read_frame(path, f[key])
    except (OSError, RuntimeError) as e:  # h5py's one-line message: truncated file, bad symbol table...
        raise fail(path, f"damaged HDF5 file ({e})") from None
    names = frame.names
    if len(names) < 2 or names[-1] != "coords" or "bodyparts" not in names:
        raise fail(
            path, f"not a DeepLabCut table (column levels {names}, expected scorer/[individuals/]bodyparts/coords)"
        )
    level = {
        name: [column[names.index(name)] for column in frame.columns]
        for name in ("bodyparts", "coords", "individuals")
        if name in names
    }
    individuals = level.get("individuals", [""] * len(frame.columns))
    columns = [(str(i), str(b), str(c)) for i, b, c in zip(individuals, level["bodyparts"], level["coords"])]
    index = [Path(*map(str, row)).as_posix() if isinstance(row, tuple) else row for row in frame.index]
    _check_coords(path, columns)
    scorer = str(frame.columns[0][0]) if frame.columns else ""
    return Table(scorer, columns, frame.values, index)


def _read_csv(path: Path) -> Table:
    text = path.read_text()
    lines = text.splitlines()
    header = list(csv.reader(lines[:8]))
    coords_row = next((n for n, row in enumerate(header) if _is_coords_row(row)), None)
    if coords_row is None or coords_row < 1:
        raise fail(path, "no DeepLabCut header (a 'coords' row of x, y, likelihood below a 'bodyparts' row)")
    coords = header[coords_row]
    first = next(n for n, cell in enumerate(coords) if cell in COORDS)  # columns before it are the row index
    bodyparts = header[coords_row - 1]
    individuals = header[coords_row - 2] if coords_row >= 2 and header[coords_row - 2][:1] == ["individuals"] else None
    width = len(coords)
    if len(bodyparts) < width or (individuals is not None and len(individuals) < width):
        raise fail(path, "header rows are shorter than the coords row")
    check_row_lengths(path, lines, width, start=coords_row + 1, index_fields=first)
    columns = [(individuals[k] if individuals else "", bodyparts[k], coords[k]) for k in range(first, width)]
    _check_coords(path, columns)
    body = pd.read_csv(
        io.StringIO(text),
        header=None,
        skiprows=coords_row + 1,
        names=range(width),
        index_col=list(range(first)),
        skip_blank_lines=True,
    )
    index = [Path(*map(str, row)).as_posix() if isinstance(row, tuple) else row for row in body.index]
    if body.empty:
        raise fail(path, "no rows below the header")
    if not all(pd.api.types.is_numeric_dtype(d) for d in body.dtypes):
        raise fail(path, "non-numeric values among the coordinates")
    scorer = header[0][first] if len(header[0]) > first else ""
    return Table(scorer, columns, body.to_numpy(np.float64), index)


def _is_coords_row(row: list[str]) -> bool:
    cells = [c for c in row[1:] if c]
    return bool(cells) and all(c in COORDS for c in cells) and {"x", "y"} <= set(cells)


def _check_coords(path, columns):
    seen = set()
    for individual, bodypart, coord in columns:
        if coord not in COORDS:
            raise fail(path, f"unknown coordinate {coord!r} for body part {bodypart!r} (expected x, y, z, likelihood)")
        if (individual, bodypart, coord) in seen:
            raise fail(path, f"column {bodypart} {coord} appears twice" + (f" for {individual}" if individual else ""))
        seen.add((individual, bodypart, coord))


def _clip(path: Path, table: Table, layout, max_persons, fps):
    individuals, joints = table.individuals, table.joints
    t, c = len(table.values), table.coord_dims
    kp = np.full((t, len(individuals), len(joints), c), np.nan, np.float32)
    scores = np.full(kp.shape[:3], np.nan, np.float32)
    has_likelihood = any(coord == "likelihood" for _, _, coord in table.columns)
    person = np.array([0 if i == UNIQUE else individuals.index(i) for i, _, _ in table.columns])
    joint = np.array([joints.index(b) for _, b, _ in table.columns])
    coord = np.array([COORDS.index(k) for _, _, k in table.columns])
    is_xyz = coord < 3
    kp[:, person[is_xyz], joint[is_xyz], coord[is_xyz]] = table.values[:, is_xyz]
    if has_likelihood:
        scores[:, person[~is_xyz], joint[~is_xyz]] = table.values[:, ~is_xyz]
    else:  # labelled data: a labelled point is certain
        scores[~np.isnan(kp).any(axis=-1)] = 1.0
    return make_clip(
        clip_id(path),
        kp,
        scores,
        joints=joints,
        layout=layout,
        path=path,
        max_persons=max_persons,
        frame_index=_frame_index(table.index),
        fps=float(np.nan if fps is None else fps),
        image_size=_image_size(path, table.index),
    )


def clip_id(path: Path) -> str:
    """The file stem; for labelled data, the video folder: every folder of a project's ``labeled-data/`` holds
    a ``CollectedData_<scorer>`` file of the same name."""
    return path.parent.name if path.stem.startswith(LABELLED_PREFIX) else path.stem


def _image_size(path: Path, index: list) -> tuple[int, int]:
    """(width, height) of the first labelled image found beside the file (DLC's labelled frames are PNGs named
    in the row index), from its header; (0, 0), unknown, for predictions and where no image is there."""
    # A Windows-made project names its images with backslashes: PureWindowsPath splits at / and \ alike.
    images = (path.parent / PureWindowsPath(row).name for row in index if isinstance(row, str))
    first = next((image for image in images if image.suffix.lower() == ".png" and image.is_file()), None)
    return (0, 0) if first is None else png_size(first)


def png_size(path: Path) -> tuple[int, int]:
    """(width, height) from a PNG's header (the IHDR chunk that follows the signature), decoding nothing."""
    with open(path, "rb") as f:
        header = f.read(24)
    if len(header) < 24 or header[:8] != PNG_SIGNATURE or header[12:16] != b"IHDR":
        raise fail(path, "not a PNG image (its header lacks the PNG signature and IHDR chunk)")
    width, height = struct.unpack(">II", header[16:24])
    return int(width), int(height)


def _frame_index(index: list) -> np.ndarray:
    """Frame numbers from the row index: the numbers of predictions, or those in image names (img0042.png)."""
    if all(isinstance(v, (int, np.integer)) for v in index):
        return np.asarray(index, np.int64)
    found = [re.search(r"(\d+)\.\w+$", str(v)) for v in index]
    if index and all(found):
        return np.array([int(m.group(1)) for m in found], np.int64)
    return np.arange(len(index), dtype=np.int64)
