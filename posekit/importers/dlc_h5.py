"""DeepLabCut .h5 tables (pandas ``to_hdf`` files) read with h5py, without unpickling anything.

pandas.read_hdf would run code from a hostile file: pandas stores object columns as pickles, and PyTables
unpickles every string attribute that looks like a pickle. Here only numeric and string arrays are read; the
column labels that pandas pickles into attributes of the "table" layout are read with
:func:`posekit.safe_pickle.loads_plain`, which builds lists and strings and calls nothing. DeepLabCut writes both
layouts pandas has:

- "fixed" (pandas_type ``frame``): columns in ``axis0`` and rows in ``axis1``, each one array (variety
  ``regular``) or levels and codes (``axisN_levelK``, ``axisN_labelK``, variety ``multi``); the values in
  ``blockB_values`` (rows x the block's columns, which ``blockB_items`` names).
- "table" (pandas_type ``frame_table``): a compound dataset ``table`` with the row label in field ``index`` and
  the values in fields ``values_block_B`` (rows x the block's columns); the columns in the group attribute
  ``non_index_axes``, each block's in the table attribute ``values_block_B_kind``, the level names in ``info``.
"""

from __future__ import annotations

from dataclasses import dataclass

import h5py
import numpy as np

from ..safe_pickle import loads_plain
from .base import fail

OBJECT_COLUMN = "object column: posekit reads only numeric DLC tables"
NUMERIC = "fiub"


@dataclass
class Frame:
    """A pandas DataFrame reduced to plain values: one tuple of level values per column."""

    columns: list[tuple]
    names: list  # the column levels' names (None for an unnamed level)
    values: np.ndarray  # (rows, columns), float64
    index: list  # row labels: numbers, strings, or tuples of a MultiIndex


def pandas_keys(f: h5py.File) -> list[str]:
    """The keys of the pandas objects in a file, as HDFStore.keys() spells them ("/df_with_missing")."""
    keys = []
    f.visititems(
        lambda name, node: (
            keys.append("/" + name) if isinstance(node, h5py.Group) and "pandas_type" in node.attrs else None
        )
    )
    return keys


def read_frame(path, group: h5py.Group) -> Frame:
    """The DataFrame pandas wrote into ``group``; an object column or an unknown layout is an error naming ``path``."""
    kind = _text(group.attrs["pandas_type"])
    if kind == "frame":
        return _read_fixed(path, group)
    if kind == "frame_table":
        return _read_table(path, group)
    raise fail(path, f"not a DeepLabCut table (a pandas {kind}, expected a DataFrame)")


def _read_fixed(path, group: h5py.Group) -> Frame:
    encoding = _text(group.attrs.get("encoding", b"UTF-8"))
    columns, names = _read_axis(path, group, "axis0", encoding)
    index, _ = _read_axis(path, group, "axis1", encoding)
    position = {column: i for i, column in enumerate(columns)}
    values = np.full((len(index), len(columns)), np.nan)
    for block in range(int(group.attrs["nblocks"])):
        items, _ = _read_axis(path, group, f"block{block}_items", encoding)
        node = group[f"block{block}_values"]
        block_values = _numeric(path, node)
        if not node.attrs.get("transposed", 0):  # pandas' own (columns, rows) order
            block_values = block_values.T
        if block_values.shape != (len(index), len(items)) or not set(items) <= position.keys():
            raise fail(path, f"block {block} does not match the table's rows and columns")
        values[:, [position[item] for item in items]] = block_values
    return Frame([c if isinstance(c, tuple) else (c,) for c in columns], names, values, index)


def _read_axis(path, group: h5py.Group, name: str, encoding: str) -> tuple[list, list]:
    """Labels of one axis (tuples for a MultiIndex) and the names of its levels."""
    if _text(group.attrs.get(f"{name}_variety", b"regular")) != "multi":
        node = group[name]
        return _labels(path, node, encoding), [_name(node.attrs.get("name"))]
    levels, names = [], []
    for k in range(int(group.attrs[f"{name}_nlevels"])):
        level_node = group[f"{name}_level{k}"]
        level = _labels(path, level_node, encoding) + [np.nan]  # code -1: a missing label
        levels.append([level[code] for code in np.asarray(group[f"{name}_label{k}"][()], np.int64)])
        names.append(_name(level_node.attrs.get("name")))
    return list(zip(*levels)), names


def _read_table(path, group: h5py.Group) -> Frame:
    encoding = _text(group.attrs.get("encoding", b"UTF-8"))
    table = group["table"]
    axes = dict(_plain(path, group.attrs, "non_index_axes"))
    columns = list(axes.get(1, []))
    info = _plain(path, group.attrs, "info") if "info" in group.attrs else {}
    names = list((info.get(1) or {}).get("names") or [None])
    position = {column: i for i, column in enumerate(columns)}
    values = np.full((len(table), len(columns)), np.nan)
    for field in _plain(path, group.attrs, "values_cols"):
        items = _plain(path, table.attrs, f"{field}_kind")
        if field not in (table.dtype.names or ()) or not isinstance(items, list) or not set(items) <= position.keys():
            raise fail(path, f"field {field} does not match the table's columns")
        if _maybe_pickled(table.attrs.get(f"{field}_meta", b"N.")) is not None:  # e.g. a categorical column
            raise fail(path, OBJECT_COLUMN)
        block = table[field]
        if block.dtype.kind not in NUMERIC:
            raise fail(path, OBJECT_COLUMN)
        values[:, [position[item] for item in items]] = block.reshape(len(table), len(items))
    index = table["index"]
    if index.dtype.kind == "S":
        index = np.char.decode(index, encoding)
    elif index.dtype.kind not in NUMERIC:
        raise fail(path, OBJECT_COLUMN)
    return Frame([c if isinstance(c, tuple) else (c,) for c in columns], names, values, index.tolist())


def _labels(path, node: h5py.Dataset, encoding: str) -> list:
    """The values of an index array: numbers, or strings decoded; pickled (object) arrays are refused."""
    if node.dtype.kind == "S":
        return np.char.decode(node[()], encoding).tolist()
    return _numeric(path, node).tolist()


def _numeric(path, node: h5py.Dataset) -> np.ndarray:
    if node.dtype.kind not in NUMERIC:  # object arrays are pickles (PyTables VLArray of ObjectAtom)
        raise fail(path, OBJECT_COLUMN)
    if "shape" in node.attrs:  # an empty array: one placeholder element and the (pickled) shape
        return np.empty(_plain(path, node.attrs, "shape"), node.dtype)
    return node[()]


def _plain(path, attrs, name: str):
    """An attribute that PyTables pickled (a list, dict or tuple of labels), read without calling anything."""
    if name not in attrs:
        raise fail(path, f"not a DeepLabCut table (no pandas attribute {name})")
    try:
        return loads_plain(bytes(attrs[name]))
    except Exception as e:  # a pickle needing a callable is refused, not run; a broken one is a broken file
        raise fail(path, f"attribute {name} is not plain data ({type(e).__name__}: {e})") from None


def _maybe_pickled(value):
    """A string attribute as PyTables would read it: a pickle when it parses as plain data, else the text."""
    if isinstance(value, bytes) and value.endswith(b"."):
        try:
            return loads_plain(value)
        except Exception:  # not a pickle after all, or one that would call something: the text itself
            pass
    return _text(value)


def _name(value):
    return None if value is None else _maybe_pickled(value)


def _text(value) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, (bytes, np.bytes_)) else str(value)
