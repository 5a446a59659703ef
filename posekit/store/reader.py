"""SkeletonStore: random access to clips of a store, one lazily opened handle per process.

The clip table (offsets, lengths, labels) is read once; frame arrays are read per clip as one slice.
The HDF5 handle is opened on first use in each process, so a store object can be handed to DataLoader
workers (forked or spawned) without sharing a handle across processes.
Opening runs the structural checks (metadata only) and refuses a store that fails them; a read that fails
(a Fletcher32 checksum or the decompression of a damaged chunk) stops with one line naming the store and dataset.
"""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path

import h5py
import numpy as np

from ..layouts import Layout
from .checks import DAMAGED_FILE_ERRORS, allows_empty, parse_provenance, structural_problems
from .format import CLASS_FEATURES, FRAME_FIELDS, Clip, StoreError, check_format, decode_captions, decode_track_names


class SkeletonStore:
    """``check=False`` (``posekit store info`` only) opens a store that fails the structural checks and keeps
    them in ``problems``, as far as its clip table can be read."""

    def __init__(self, path: str | Path, *, check: bool = True):
        self.path = Path(path)
        if not self.path.is_file():
            raise StoreError(f"{self.path}: no such store file")
        self._pid = None
        self._h5 = None
        self._frame_datasets = None
        try:
            f = self.file
            check_format(f, self.path)
            self.problems = structural_problems(f)
            if self.problems and check:
                raise StoreError(self.problem_line())
            self._load_table(f)
        except StoreError:
            self.close()
            raise
        except DAMAGED_FILE_ERRORS as e:
            self.close()
            raise StoreError(f"{self.path}: not a readable HDF5 file ({e})") from None

    def _load_table(self, f: h5py.File):
        try:
            clips = f["clips"]
            self.offsets = clips["offset"][()]
            self.lengths = clips["length"][()]
            self.labels = clips["label"][()]
            self.layout = Layout.from_json(f.attrs["layout"])
            self.coord_dims = int(f.attrs["coord_dims"])
            self.max_persons = int(f["frames/keypoints"].shape[1])
            self.coordinates = str(f.attrs.get("coordinates", "pixel"))
            self.name = str(f.attrs.get("name", self.path.stem))
            self.frame_fields = tuple(k for k in FRAME_FIELDS if k in self._frame_datasets)
            self.allows_empty = allows_empty(f)
            self._has_track_names = "track_names" in clips
        except (*DAMAGED_FILE_ERRORS, AttributeError):
            if not self.problems:
                raise
            raise StoreError(self.problem_line()) from None  # opened with check=False: the problems say why

    def problem_line(self) -> str:
        """The first structural problem, and where to see them all."""
        more = f" (and {len(self.problems) - 1} more)" if len(self.problems) > 1 else ""
        return (
            f"{self.path}: invalid store: {self.problems[0]}{more}; "
            f"`posekit store validate {self.path}` lists all problems"
        )

    def _damaged(self, dataset: str, error: OSError, index: int | None = None) -> StoreError:
        """The one line for a read that HDF5 refused: a checksum mismatch or a chunk that does not decompress."""
        where = f" of clip {self._clip_name(index)}" if index is not None else ""
        return StoreError(
            f"{self.path}: {dataset}{where}: damaged data, the read failed ({error}); "
            f"`posekit store validate --deep {self.path}` lists the damaged clips"
        )

    def _clip_name(self, index: int) -> str:
        try:
            return repr(self._read(self.file["clips/id"], index))
        except StoreError:  # the ids are damaged too
            return f"#{index}"

    def _read(self, ds, selection=()):
        """``ds[selection]``, strings decoded; a refused read becomes one line naming the dataset."""
        try:
            return (ds.asstr() if h5py.check_string_dtype(ds.dtype) else ds)[selection]
        except OSError as e:
            raise self._damaged(ds.name.lstrip("/"), e) from None

    # -- handle ---------------------------------------------------------------------------------------------
    @property
    def file(self) -> h5py.File:
        if self._h5 is None or self._pid != os.getpid():
            # rdcc: a few chunks per dataset are enough for clip-sized reads; more only costs memory.
            self._h5 = h5py.File(self.path, "r", rdcc_nbytes=4 << 20)
            self._pid = os.getpid()
            # Looking a dataset up by name costs ~0.1 ms, as much as reading a small clip: do it once.
            frames = self._h5.get("frames")  # absent in a broken store, which the structural checks report
            self._frame_datasets = dict(frames.items()) if isinstance(frames, h5py.Group) else {}
        return self._h5

    def close(self):
        if self._h5 is not None and self._pid == os.getpid():
            self._h5.close()
        self._h5 = None
        self._frame_datasets = None

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_h5"] = None
        state["_pid"] = None
        state["_frame_datasets"] = None
        state.pop("ids", None)  # large; re-read lazily in the worker
        return state

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- table ----------------------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.offsets)

    @property
    def num_frames(self) -> int:
        return int(self.file["frames/keypoints"].shape[0])

    @cached_property
    def ids(self) -> np.ndarray:
        return self.column("id")

    def index_of(self, clip_id: str) -> int:
        hits = np.flatnonzero(self.ids == clip_id)
        if not len(hits):
            raise KeyError(f"{self.path}: no clip {clip_id!r}")
        return int(hits[0])

    @cached_property
    def classes(self) -> list[str]:
        return list(self._read(self.file["classes/name"]))

    @cached_property
    def class_descriptions(self) -> list[str]:
        return list(self._read(self.file["classes/description"]))

    @cached_property
    def splits(self) -> dict[str, np.ndarray]:
        return {name: self._read(ds) for name, ds in self.file["splits"].items()}

    def split(self, name: str | None) -> np.ndarray:
        """Clip indices of a split (all clips for None)."""
        if name is None:
            return np.arange(len(self))
        if name not in self.splits:
            raise StoreError(f"{self.path}: no split {name!r}; splits: {', '.join(self.splits) or 'none'}")
        return self.splits[name]

    @property
    def feature_names(self) -> list[str]:
        return list(self.file["features"])

    def feature(self, name: str, index=None) -> np.ndarray:
        ds = self.file["features"][name]
        return self._read(ds, () if index is None else index)

    @property
    def class_feature_names(self) -> list[str]:
        """Names of the per-class arrays (``/class_features/NAME``, K rows), such as the classes' text embeddings."""
        return list(self.file.get(CLASS_FEATURES, {}))

    def class_feature(self, name: str) -> np.ndarray:
        """``/class_features/NAME``: (K, D) float32, row k for class k, NaN rows = none."""
        return self._read(self.file[CLASS_FEATURES][name])

    @property
    def encoders(self) -> dict[str, str]:
        """The encoder recorded on each feature array that has one, by path: ``{"features/text": "minilm"}``."""
        f = self.file
        groups = (f["features"], f.get(CLASS_FEATURES, {}))
        return {
            ds.name.lstrip("/"): str(ds.attrs["encoder"]) for g in groups for ds in g.values() if "encoder" in ds.attrs
        }

    def captions(self) -> list[list[str]]:
        """Every clip's captions (``/clips/text``, one caption per line), [] for a clip without."""
        return [decode_captions(text) for text in self.column("text")]

    @property
    def provenance(self) -> list[dict]:
        """The steps that made the store, oldest first; [] where the attribute is not a list of steps (a store
        opened with check=False, whose problems say so)."""
        return parse_provenance(self.file.attrs.get("provenance", "[]")) or []

    def column(self, name: str) -> np.ndarray:
        """A whole per-clip column: id, label, fps, image_size, source, text, offset, length."""
        return self._read(self.file["clips"][name])

    # -- clips ----------------------------------------------------------------------------------------------
    def frames(self, index: int, fields=("keypoints", "scores")) -> dict[str, np.ndarray]:
        """Per-frame arrays of one clip, each one contiguous read."""
        start = int(self.offsets[index])
        stop = start + int(self.lengths[index])
        self.file  # (re)opens the handle and its datasets in this process
        datasets, arrays = self._frame_datasets, {}
        for name in fields:
            if name in datasets:
                try:
                    arrays[name] = datasets[name][start:stop]
                except OSError as e:
                    raise self._damaged(f"frames/{name}", e, index) from None
        return arrays

    def __getitem__(self, index: int) -> Clip:
        if not -len(self) <= index < len(self):
            raise IndexError(f"clip index {index} out of range for {len(self)} clips")
        index = int(index) % len(self)
        arrays = self.frames(index, self.frame_fields)
        row = self.file["clips"]
        feats = {name: self._read(ds, index) for name, ds in self.file["features"].items()}
        return Clip(
            id=self._read(row["id"], index),
            label=int(self.labels[index]),
            fps=float(self._read(row["fps"], index)),
            image_size=tuple(int(v) for v in self._read(row["image_size"], index)),
            source=self._read(row["source"], index),
            text=self._read(row["text"], index),
            splits=tuple(name for name, idx in self.splits.items() if _contains(idx, index)),
            features=feats,
            track_names=self._track_names(index),
            **arrays,
        )

    def _track_names(self, index: int) -> tuple[str, ...]:
        """The clip's track names; () in a store without the optional ``/clips/track_names``."""
        if not self._has_track_names:
            return ()
        names = decode_track_names(self._read(self.file["clips/track_names"], index))
        if names is None:
            raise StoreError(
                f"{self.path}: clips/track_names of clip {self._clip_name(index)} is not a JSON list "
                f"of strings; `posekit store validate {self.path}` lists all such clips"
            )
        return names

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    def info(self) -> dict:
        """Summary used by ``posekit store info``; ``problems``: the structural checks that failed."""
        try:
            return self._summary()
        except (*DAMAGED_FILE_ERRORS, AttributeError):  # only reachable with check=False: the problems say why
            if not self.problems:
                raise
            raise StoreError(self.problem_line()) from None

    def _summary(self) -> dict:
        f = self.file
        captions_per_clip = self.captions()
        return {
            "path": str(self.path),
            "name": self.name,
            "num_clips": len(self),
            "num_frames": self.num_frames,
            "layout": self.layout.name,
            "num_joints": self.layout.num_joints,
            "joints": list(self.layout.joints),
            "coord_dims": self.coord_dims,
            "coordinates": self.coordinates,
            "max_persons": self.max_persons,
            "has_3d": "keypoints_3d" in f["frames"],
            "frame_fields": list(self.frame_fields),
            "num_classes": len(self.classes),
            "splits": {k: int(len(v)) for k, v in self.splits.items()},
            "features": {k: list(ds.shape[1:]) for k, ds in f["features"].items()},
            "class_features": {k: list(ds.shape[1:]) for k, ds in f.get(CLASS_FEATURES, {}).items()},
            "encoders": self.encoders,
            "captioned_clips": sum(1 for captions in captions_per_clip if captions),
            "captions": sum(len(captions) for captions in captions_per_clip),
            "described_classes": sum(1 for text in self.class_descriptions if text),
            "labelled_clips": int((self.labels >= 0).sum()),
            "frames_per_clip": _stats(self.lengths),
            "provenance": self.provenance,
            "format_version": int(f.attrs["format_version"]),
            "file_bytes": self.path.stat().st_size,
            "problems": list(self.problems),
        }


def _contains(sorted_indices: np.ndarray, index: int) -> bool:
    pos = np.searchsorted(sorted_indices, index)
    return bool(pos < len(sorted_indices) and sorted_indices[pos] == index)


def _stats(values: np.ndarray) -> dict:
    if not len(values):
        return {"min": 0, "median": 0, "max": 0}
    return {"min": int(values.min()), "median": float(np.median(values)), "max": int(values.max())}
