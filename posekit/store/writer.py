"""StoreWriter: builds a store from clips, or appends to one, through a temporary file renamed on success; that
protocol (:class:`AtomicStoreContext`) and :func:`append_provenance` are shared with :class:`~.edit.StoreEditor`."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Callable

import h5py
import numpy as np

from ..layouts import Layout, get_layout
from .checks import keypoint_problem
from .format import (
    CLASS_FEATURES,
    CLASS_ROWS_CHUNK,
    CLIP_FIELDS,
    COORDINATES,
    FORMAT,
    FORMAT_VERSION,
    FRAME_FIELDS,
    OPTIONAL_CLIP_FIELDS,
    STR,
    Clip,
    StoreError,
    __version__,
    check_format,
    encode_track_names,
    provenance_step,
    temporary_beside,
)


class AtomicStoreContext:
    """The context protocol of a store written into a temporary file beside its target: the subclass's
    ``__enter__`` sets the file up through :meth:`_or_abort`; on leaving the block :meth:`_commit` makes it replace
    the target, and on any error :meth:`_abort` releases it, so the target is untouched."""

    def _or_abort(self, step: Callable[[], None]) -> None:
        """Run ``step``; on any error release the temporary file and raise the error."""
        try:
            step()
        except BaseException:
            self._abort()
            raise

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            self._abort()
        else:
            self._or_abort(self._commit)
        return False

    def _commit(self) -> None:
        raise NotImplementedError

    def _abort(self) -> None:
        raise NotImplementedError


def append_provenance(f: h5py.File, step: dict) -> None:
    """Append ``step`` (with the time and posekit's version) to the store's ``provenance`` attribute."""
    steps = json.loads(f.attrs.get("provenance", "[]"))
    steps.append(provenance_step(**step))
    f.attrs["provenance"] = json.dumps(steps)


class StoreWriter(AtomicStoreContext):
    """Write clips into a new store (``mode='w'``) or append to an existing one (``mode='a'``).

    Frames are chunked ``chunk_frames`` at a time and compressed with ``compression``: the defaults (128, "lzf")
    were the fastest random clip reads measured short of no compression (docs/benchmarks.md); "gzip" makes
    files ~10% smaller and readable by any HDF5 tool, at a third of the read speed. Every numeric dataset
    carries Fletcher32 chunk checksums, so a damaged chunk fails its read instead of returning other numbers
    (HDF5 cannot filter variable-length strings: ids, sources, texts and class names go unchecked);
    ``checksums=False`` writes a store as posekit did before them, for tools/bench_checksums.py.
    ``allow_empty``: accept clips with zero frames or no valid joint; recorded in the store's ``allow_empty``
    attribute so that ``posekit store validate`` holds stored clips to the same rule.

    Use as a context manager; the store appears at ``path`` only when the block exits without error::

        with StoreWriter("penn.h5", layout="penn-13", coord_dims=2, classes=names) as w:
            w.add(clip)
    """

    def __init__(
        self,
        path,
        layout: Layout | str | None = None,
        *,
        coord_dims: int | None = None,
        classes=None,
        class_descriptions=None,
        name: str | None = None,
        coordinates: str = "pixel",
        mode: str = "w",
        provenance: dict | None = None,
        chunk_frames: int = 128,
        compression: str | None = "lzf",
        allow_empty: bool = False,
        flush_frames: int = 1 << 16,
        base=None,
        checksums: bool = True,
    ):
        if mode not in ("w", "a"):
            raise ValueError("mode must be 'w' or 'a'")
        if coordinates not in COORDINATES:
            raise StoreError(f"{path}: coordinates must be one of {', '.join(COORDINATES)}, got {coordinates!r}")
        self.path = Path(path)
        self.base = Path(base) if base is not None else self.path  # the store that mode 'a' starts from
        self.mode = mode
        self.chunk_frames = chunk_frames
        self.compression = compression
        self.checksums = checksums
        self.allow_empty = allow_empty
        self.flush_frames = flush_frames
        self._provenance = provenance
        self._init = dict(
            layout=layout,
            coord_dims=coord_dims,
            classes=classes,
            class_descriptions=class_descriptions,
            name=name,
            coordinates=coordinates,
        )

    # -- context ---------------------------------------------------------------------------------------------
    def __enter__(self) -> "StoreWriter":
        if self.mode == "a" and not self.base.is_file():
            raise StoreError(f"{self.base}: no store to append to")
        self._tmp = temporary_beside(self.path)
        self._or_abort(self._create)
        return self

    def _create(self):
        if self.mode == "a":
            shutil.copyfile(self.base, self._tmp)
            shutil.copymode(self.base, self._tmp)
        self._h5 = h5py.File(self._tmp, "r+" if self.mode == "a" else "w")
        self._open()

    def _commit(self):
        self._finish()
        self._h5.close()
        os.replace(self._tmp, self.path)

    def _abort(self):
        try:
            self._h5.close()
        except Exception:  # already closed or never opened: nothing to release
            pass
        Path(self._tmp).unlink(missing_ok=True)

    def _open(self):
        f = self._h5
        if self.mode == "a":
            check_format(f, self.base)
            self.layout = Layout.from_json(f.attrs["layout"])
            given = self._init["layout"]
            if given is not None and get_layout(given).joints != self.layout.joints:
                raise StoreError(
                    f"{self.path}: store layout is {self.layout.name!r}, clips are "
                    f"{get_layout(given).name!r}; convert them with --layout {self.layout.name}"
                )
            self.coord_dims = int(f.attrs["coord_dims"])
            if self.allow_empty:  # the store may now hold empty clips; a strict append keeps the flag it had
                f.attrs["allow_empty"] = True
            self.classes = list(f["classes/name"].asstr()[()])
            self.class_descriptions = list(f["classes/description"].asstr()[()])
            ids = f["clips/id"].asstr()[()]
            self._ids = set(ids.tolist())
            self._num_clips = len(ids)
            self._num_frames = int(f["frames/keypoints"].shape[0])
            self._splits = {k: [] for k in f["splits"]}
            self._new_classes = False
        else:
            if self._init["layout"] is None:
                raise StoreError(f"{self.path}: a new store needs a layout")
            self.layout = get_layout(self._init["layout"])
            self.coord_dims = self._init["coord_dims"]
            self.classes = list(self._init["classes"] or [])
            self._ids, self._num_clips, self._num_frames, self._splits = set(), 0, 0, {}
            f.attrs.update(
                format=FORMAT,
                format_version=FORMAT_VERSION,
                name=self._init["name"] or self.path.stem.split(".")[0],
                layout=self.layout.to_json(),
                coordinates=self._init["coordinates"],
                provenance="[]",
                created_by=f"posekit {__version__}",
                allow_empty=self.allow_empty,
            )
            for g in ("frames", "clips", "splits", "features", "classes"):
                f.create_group(g)
            self.class_descriptions = list(self._init["class_descriptions"] or [""] * len(self.classes))
            if len(self.class_descriptions) != len(self.classes):
                raise StoreError(
                    f"{self.path}: {len(self.classes)} classes but {len(self.class_descriptions)} class descriptions"
                )
            self._write_classes(self.classes, self.class_descriptions)
            self._new_classes = True
        if self._provenance:
            append_provenance(f, self._provenance)
        self._frames: dict[str, list] = {}
        self._clip_rows: dict[str, list] = {k: [] for k in CLIP_FIELDS}
        self._features: dict[str, list] = {}
        self._class_features: dict[str, dict[int, np.ndarray]] = {}
        self._encoders: dict[str, str] = {}
        self._buffered_frames = 0

    def _write_classes(self, names, descriptions):
        g = self._h5["classes"]
        for key in ("name", "description"):
            if key in g:
                del g[key]
        g.create_dataset("name", data=np.array(names, dtype=object), dtype=STR)
        g.create_dataset("description", data=np.array(descriptions, dtype=object), dtype=STR)

    # -- adding clips ---------------------------------------------------------------------------------------
    def __len__(self) -> int:
        """Clips in the store so far, appended ones included."""
        return self._num_clips + len(self._clip_rows["id"])

    def class_index(self, name: str, description: str = "") -> int:
        """Index of a class by name, adding it to the store's class list if new; a known class without a
        description takes ``description``."""
        if name not in self.classes:
            self.classes.append(name)
            self.class_descriptions.append(description)
            self._new_classes = True
        index = self.classes.index(name)
        if description and not self.class_descriptions[index]:
            self.class_descriptions[index] = description
            self._new_classes = True
        return index

    def record_encoder(self, path: str, encoder: str) -> None:
        """The ``encoder`` attribute of the array at ``path`` (``features/text``), set when the store is written."""
        self._encoders[path] = encoder

    def set_class_feature(self, name: str, index: int, vector) -> None:
        """Row ``index`` of the per-class array ``/class_features/NAME`` (K, D); rows never set hold NaN."""
        if not 0 <= index < len(self.classes):
            raise StoreError(f"{self.path}: class feature {name!r}: class {index} outside the {len(self.classes)}")
        self._class_features.setdefault(name, {})[index] = np.asarray(vector, np.float32).ravel()

    def add(self, clip: Clip) -> int:
        """Validate and buffer one clip; returns its index in the store."""
        kp = self._check(clip)
        if clip.id in self._ids:
            raise StoreError(f"{self.path}: duplicate clip id {clip.id!r}")
        t, m = kp.shape[:2]
        columns = {
            "keypoints": kp,
            "scores": _float(clip.scores, (t, m, kp.shape[2]), "scores", clip),
            "track_id": np.asarray(clip.track_id, np.int32)
            if clip.track_id is not None
            else np.where(np.isnan(kp).all(axis=(2, 3)), -1, np.arange(m, dtype=np.int32)).astype(np.int32),
            "frame_index": np.asarray(clip.frame_index, np.int64)
            if clip.frame_index is not None
            else np.arange(t, dtype=np.int64),
        }
        for name, trailing in (("box", (4,)), ("keypoints_3d", (kp.shape[2], 3))):
            value = getattr(clip, name)
            if value is not None:
                columns[name] = _float(value, (t, m) + trailing, name, clip)
        if clip.labels is not None:
            labels = np.asarray(clip.labels, bool)
            if labels.ndim != 2 or labels.shape[0] != t:
                raise StoreError(f"clip {clip.id!r}: per-frame labels must be (frames, classes), got {labels.shape}")
            columns["labels"] = labels
        if columns["track_id"].shape != (t, m) or columns["frame_index"].shape != (t,):
            raise StoreError(f"clip {clip.id!r}: track_id must be (T, M) and frame_index (T,)")
        self._ids.add(clip.id)  # only once the clip is accepted: a refused clip's id stays free
        for name, value in columns.items():
            self._frames.setdefault(name, []).append((self._num_frames + self._buffered_frames, value))
        index = self._num_clips + len(self._clip_rows["id"])
        rows = self._clip_rows
        rows["id"].append(clip.id)
        rows["offset"].append(self._num_frames + self._buffered_frames)
        rows["length"].append(t)
        rows["label"].append(int(clip.label))
        rows["fps"].append(float(clip.fps))
        rows["image_size"].append(tuple(int(v) for v in clip.image_size))
        rows["source"].append(str(clip.source))
        rows["text"].append(str(clip.text))
        rows["track_names"].append(encode_track_names(clip.track_names))
        for split in clip.splits:
            self._splits.setdefault(split, []).append(index)
        for name, vector in clip.features.items():
            self._features.setdefault(name, []).append((index, np.asarray(vector, np.float32).ravel()))
        self._buffered_frames += t
        if self._buffered_frames >= self.flush_frames:
            self._flush()
        return index

    def _check(self, clip: Clip) -> np.ndarray:
        if not isinstance(clip.id, str) or not clip.id:
            raise StoreError(f"clip id must be a non-empty string, got {clip.id!r}")
        kp = np.array(clip.keypoints, np.float32)  # a copy: missing joints are normalised below
        if kp.ndim != 4:
            raise StoreError(f"clip {clip.id!r}: keypoints must be (frames, persons, joints, coords), got {kp.shape}")
        if kp.shape[2] != self.layout.num_joints:
            raise StoreError(
                f"clip {clip.id!r}: {kp.shape[2]} joints but layout {self.layout.name!r} has "
                f"{self.layout.num_joints}; choose the right --layout"
            )
        if self.coord_dims is None:
            self.coord_dims = kp.shape[3]
            self._h5.attrs["coord_dims"] = self.coord_dims
        if kp.shape[3] != self.coord_dims:
            raise StoreError(f"clip {clip.id!r}: {kp.shape[3]}D keypoints in a {self.coord_dims}D store")
        problem = keypoint_problem(kp, allow_empty=self.allow_empty)
        if problem:
            raise StoreError(f"clip {clip.id!r}: {problem}")
        if not 0 <= clip.label < max(len(self.classes), 1) and clip.label != -1:
            raise StoreError(f"clip {clip.id!r}: label {clip.label} outside the {len(self.classes)} classes")
        # A joint is missing as a whole: one NaN coordinate makes all of them NaN.
        kp[np.isnan(kp).any(axis=-1)] = np.nan
        return kp

    def _flush(self):
        if not self._buffered_frames and not self._clip_rows["id"]:
            return
        f = self._h5
        total = self._num_frames + self._buffered_frames
        max_persons = max([v.shape[1] for _, v in self._frames.get("keypoints", [])] + [0])
        for name, items in self._frames.items():
            sample = items[0][1]
            ds = self._frame_dataset(name, sample, max_persons)
            if name != "frame_index" and name != "labels" and ds.shape[1] < max_persons:
                ds.resize(max_persons, axis=1)
            if name == "labels":
                width = max(v.shape[1] for _, v in items)
                if ds.shape[1] < width:
                    ds.resize(width, axis=1)
            ds.resize(total, axis=0)
            ds[self._num_frames : total] = self._pack(items, ds, total - self._num_frames)
        for name in FRAME_FIELDS:  # datasets absent from this block still grow (fill value) to stay aligned
            if name in f["frames"] and f["frames"][name].shape[0] < total:
                f["frames"][name].resize(total, axis=0)
        self._write_clip_rows()
        for name, items in self._features.items():
            dim = items[0][1].size
            ds = _grow(
                f["features"],
                name,
                (0, dim),
                np.float32,
                np.nan,
                self._num_clips + len(self._clip_rows["id"]),
                checksums=self.checksums,
            )
            if ds.shape[1] != dim or any(v.size != dim for _, v in items):
                raise StoreError(f"feature {name!r}: every clip needs the same size ({ds.shape[1]})")
            for index, vector in items:
                ds[index] = vector
        for ds in f["features"].values():  # features absent from this block still grow to stay aligned
            if ds.shape[0] < self._num_clips + len(self._clip_rows["id"]):
                ds.resize(self._num_clips + len(self._clip_rows["id"]), axis=0)
        self._num_clips += len(self._clip_rows["id"])
        self._num_frames = total
        self._frames, self._features = {}, {}
        self._clip_rows = {k: [] for k in CLIP_FIELDS}
        self._buffered_frames = 0

    def _pack(self, items, ds, rows):
        """The block of ``rows`` frames being flushed for one field; frames without it keep the fill value."""
        block = np.full((rows,) + ds.shape[1:], ds.fillvalue, dtype=ds.dtype)
        for offset, value in items:
            start = offset - self._num_frames
            block[(slice(start, start + len(value)),) + tuple(slice(0, s) for s in value.shape[1:])] = value
        return block

    def _frame_dataset(self, name, sample, max_persons):
        g = self._h5["frames"]
        if name in g:
            return g[name]
        trailing = list(sample.shape[1:])
        if name not in ("frame_index", "labels"):
            trailing[0] = max_persons
        fill = {"track_id": -1, "frame_index": -1, "labels": False}.get(name, np.nan)
        dtype = {"track_id": np.int32, "frame_index": np.int64, "labels": bool}.get(name, np.float32)
        return _grow(
            g,
            name,
            (0, *trailing),
            dtype,
            fill,
            self._num_frames,
            self.chunk_frames,
            self.compression,
            checksums=self.checksums,
        )

    def _write_clip_rows(self):
        g, rows = self._h5["clips"], self._clip_rows
        n = self._num_clips + len(rows["id"])
        specs = {
            "id": (STR, ""),
            "offset": (np.int64, 0),
            "length": (np.int64, 0),
            "label": (np.int32, -1),
            "fps": (np.float32, np.nan),
            "image_size": (np.int32, 0),
            "source": (STR, ""),
            "text": (STR, ""),
            "track_names": (STR, ""),
        }
        for key, (dtype, fill) in specs.items():
            if key in OPTIONAL_CLIP_FIELDS and key not in g and not any(rows[key]):
                continue  # a store whose clips never had one stays as older posekit versions write it
            shape = (0, 2) if key == "image_size" else (0,)
            ds = _grow(
                g,
                key,
                shape,
                dtype,
                fill if dtype is not STR else None,
                n,
                chunk=4096,
                compression=self.compression,
                checksums=self.checksums,
            )
            if rows[key]:
                values = np.array(rows[key], dtype=object if dtype is STR else dtype)
                ds[self._num_clips : n] = values

    def _finish(self):
        self._flush()
        f = self._h5
        if "keypoints" not in f["frames"]:  # a store with no clips still has its arrays
            self._frame_dataset("keypoints", np.zeros((0, 0, self.layout.num_joints, self.coord_dims or 2)), 0)
            for name in ("scores", "track_id", "frame_index"):
                self._frame_dataset(
                    name,
                    np.zeros(
                        (0, 0, self.layout.num_joints) if name == "scores" else (0, 0) if name == "track_id" else (0,)
                    ),
                    0,
                )
            self._write_clip_rows()
        if self.coord_dims is None:
            self.coord_dims = 2
        f.attrs["coord_dims"] = self.coord_dims
        f.attrs["max_persons"] = int(f["frames/keypoints"].shape[1])
        for split, indices in self._splits.items():
            old = f["splits"][split][()] if split in f["splits"] else np.zeros(0, np.int64)
            if split in f["splits"]:
                del f["splits"][split]
            f["splits"].create_dataset(
                split, data=np.union1d(old, np.asarray(indices, np.int64)).astype(np.int64), fletcher32=self.checksums
            )
        if self._new_classes:
            self._write_classes(self.classes, self.class_descriptions)
        self._write_class_features()
        for path, encoder in self._encoders.items():
            if path in f:
                f[path].attrs["encoder"] = encoder

    def _write_class_features(self):
        """The rows set by :meth:`set_class_feature`; every per-class array grows to the class count (NaN rows)."""
        f = self._h5
        if self._class_features and CLASS_FEATURES not in f:
            f.create_group(CLASS_FEATURES)
        group = f.get(CLASS_FEATURES, {})
        for name, rows in self._class_features.items():
            dim = next(iter(rows.values())).size
            ds = _grow(
                group,
                name,
                (0, dim),
                np.float32,
                np.nan,
                len(self.classes),
                chunk=CLASS_ROWS_CHUNK,
                checksums=self.checksums,
            )
            if ds.shape[1] != dim or any(v.size != dim for v in rows.values()):
                raise StoreError(f"class feature {name!r}: every class needs the same size ({ds.shape[1]})")
            for index, vector in rows.items():
                ds[index] = vector
        for ds in group.values():
            if ds.shape[0] < len(self.classes):
                ds.resize(len(self.classes), axis=0)


def _float(value, shape, name, clip):
    if value is None:
        return np.full(shape, np.nan, np.float32)
    value = np.asarray(value, np.float32)
    if value.shape != shape:
        raise StoreError(f"clip {clip.id!r}: {name} must have shape {shape}, got {value.shape}")
    return value


def _grow(group, name, shape, dtype, fill, rows, chunk_frames=None, compression=None, chunk=None, checksums=True):
    """Create-or-resize a dataset that grows along axis 0 to ``rows``; new rows hold ``fill``."""
    if name not in group:
        chunks = (chunk or chunk_frames or 1024,) + tuple(max(s, 1) for s in shape[1:])
        kwargs = dict(compression=compression, shuffle=compression is not None) if compression else {}
        group.create_dataset(
            name,
            shape=(rows,) + tuple(shape[1:]),
            maxshape=(None,) * len(shape),
            dtype=dtype,
            chunks=chunks,
            fillvalue=fill,
            fletcher32=checksums and dtype is not STR,
            **kwargs,
        )
    ds = group[name]
    if ds.shape[0] < rows:
        ds.resize(rows, axis=0)
    return ds
