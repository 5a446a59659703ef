"""Folders posekit carries from the top of its source tree: ``models/`` (the zoo) and ``data_schemas/``.

Each folder stays at the top of the source tree, the one source of truth, and is not a package. A wheel carries a
copy in ``posekit/.mim/<folder>`` (setup.py copies them at build time, as mmaction2 ships its configs in
``mmaction/.mim``); an editable install or a source checkout has no such copy and reads the folder in place.
"""

from __future__ import annotations

import json
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def shipped_dir(name: str) -> Path:
    """The folder ``name`` of the source tree's top: the installed copy if present, else the source tree's."""
    packaged = _PACKAGE / ".mim" / name
    return packaged if packaged.is_dir() else _PACKAGE.parent / name


def schemas_dir() -> Path:
    """``data_schemas/``: the written schemas (JSON Schema files and their prose)."""
    return shipped_dir("data_schemas")


def load_schema(file_name: str) -> dict:
    """One JSON Schema of ``data_schemas/``, e.g. ``store.schema.json``."""
    return json.loads((schemas_dir() / file_name).read_text(encoding="utf-8"))
