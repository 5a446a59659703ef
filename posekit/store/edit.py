"""StoreEditor: whole-column edits of an existing store (captions, per-clip and per-class arrays), written into a
copy of it that replaces the target only when the edit completes."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import h5py
import numpy as np

from .format import CLASS_FEATURES, CLASS_ROWS_CHUNK, StoreError, encode_captions, temporary_beside
from .reader import SkeletonStore
from .writer import AtomicStoreContext, _grow, append_provenance


class StoreEditor(AtomicStoreContext):
    """Edit the store at ``path`` into ``output`` (default: ``path`` itself, replaced in place).

    ``store`` reads the original (refused when it fails the structural checks); the edits go to a copy beside
    ``output``, which replaces it only when the block exits without error, with ``provenance`` appended as a step::

        with StoreEditor("penn.h5", provenance={"step": "text-caption"}) as editor:
            editor.set_captions(captions)
    """

    def __init__(self, path, output=None, *, provenance: dict | None = None):
        self.path = Path(path)
        self.output = Path(output) if output is not None else self.path
        self._provenance = provenance

    def __enter__(self) -> "StoreEditor":
        self.store = SkeletonStore(self.path)
        self._h5, self._tmp = None, None
        self._or_abort(self._copy)
        return self

    def _copy(self):
        self._tmp = temporary_beside(self.output)
        shutil.copyfile(self.path, self._tmp)
        shutil.copymode(self.path, self._tmp)
        self._h5 = h5py.File(self._tmp, "r+")
        # edits follow the store: one written before chunk checksums stays without them
        self._checksums = bool(self._h5["clips/offset"].fletcher32)

    def _commit(self):
        if self._provenance:
            append_provenance(self._h5, self._provenance)
        self._h5.close()
        self.store.close()
        os.replace(self._tmp, self.output)

    def _abort(self):
        if self._h5 is not None and self._h5.id.valid:
            self._h5.close()
        self.store.close()
        if self._tmp is not None:
            self._tmp.unlink(missing_ok=True)

    def set_captions(self, captions_per_clip: list[list[str]]) -> None:
        """``/clips/text``: every clip's captions (one list per clip, [] for none)."""
        ds = self._h5["clips/text"]
        if len(captions_per_clip) != ds.shape[0]:
            raise StoreError(f"{self.path}: {len(captions_per_clip)} caption lists for {ds.shape[0]} clips")
        ds[...] = np.array([encode_captions(captions) for captions in captions_per_clip], dtype=object)

    def new_feature(self, name: str, dim: int, **attrs) -> h5py.Dataset:
        """An empty (N, ``dim``) ``/features/NAME`` (NaN rows), replacing one of that name, to fill block by block;
        ``attrs`` are kept on the dataset (``encoder=...``)."""
        return self._new_array(self._h5["features"], name, len(self.store), dim, attrs, chunk=None)

    def new_class_feature(self, name: str, dim: int, **attrs) -> h5py.Dataset:
        """An empty (K, ``dim``) ``/class_features/NAME`` (NaN rows), replacing one of that name."""
        group = self._h5.require_group(CLASS_FEATURES)
        return self._new_array(group, name, len(self.store.classes), dim, attrs, chunk=CLASS_ROWS_CHUNK)

    def _new_array(self, group: h5py.Group, name: str, rows: int, dim: int, attrs: dict, chunk) -> h5py.Dataset:
        if name in group:
            del group[name]
        ds = _grow(group, name, (0, dim), np.float32, np.nan, rows, chunk=chunk, checksums=self._checksums)
        ds.attrs.update(attrs)
        return ds
