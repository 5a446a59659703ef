"""Names, constants and file-level helpers shared by the store's writer and reader."""

from __future__ import annotations

import json
import os
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import h5py
import numpy as np

from .. import __version__
from ..errors import PosekitError
from ..outputs import check_file_path

FORMAT = "posekit-store"
FORMAT_VERSION = 1
STR = h5py.string_dtype("utf-8")
COORDINATES = ("pixel", "normalised", "metric")
FRAME_FIELDS = ("keypoints", "scores", "track_id", "frame_index", "box", "keypoints_3d", "labels")
CLIP_FIELDS = ("id", "offset", "length", "label", "fps", "image_size", "source", "text", "track_names")
OPTIONAL_CLIP_FIELDS = ("track_names",)  # written once a clip has one; absent in stores that never had one
CLASS_FEATURES = "class_features"  # group of (K, D) per-class arrays; absent in stores that never had one
CLASS_ROWS_CHUNK = 256  # rows per chunk of a per-class array: classes number tens to thousands
CAPTION_SEPARATOR = "\n"  # between the captions of a clip in /clips/text


class StoreError(PosekitError, ValueError):
    """A store or an input that cannot be written or read; the message names the file and the problem."""


@dataclass
class Clip:
    """One clip in memory. Arrays are per frame; M persons may be fewer than the store's max_persons."""

    id: str
    keypoints: np.ndarray  # (T, M, V, C) float32, NaN where missing
    scores: np.ndarray | None = None  # (T, M, V) confidence
    track_id: np.ndarray | None = None  # (T, M) int, -1 where no person
    frame_index: np.ndarray | None = None  # (T,) original frame index in the video
    box: np.ndarray | None = None  # (T, M, 4) x1 y1 x2 y2
    keypoints_3d: np.ndarray | None = None  # (T, M, V, 3)
    labels: np.ndarray | None = None  # (T, K) bool per-frame labels
    label: int = -1
    fps: float = float("nan")
    image_size: tuple[int, int] = (0, 0)  # (width, height)
    source: str = ""
    text: str = ""
    splits: tuple[str, ...] = ()
    features: dict[str, np.ndarray] = field(default_factory=dict)
    track_names: tuple[str, ...] = ()  # name of track id k (SLEAP's "female", "male"); () = unnamed tracks

    @property
    def num_frames(self) -> int:
        return int(self.keypoints.shape[0])

    @property
    def num_persons(self) -> int:
        return int(self.keypoints.shape[1])

    @property
    def captions(self) -> list[str]:
        return decode_captions(self.text)


def encode_captions(captions) -> str:
    """``/clips/text``: a clip's captions, one per line; line breaks inside a caption become spaces and blank
    captions are dropped."""
    return CAPTION_SEPARATOR.join(caption for caption in (" ".join(str(c).split()) for c in captions) if caption)


def decode_captions(text: str) -> list[str]:
    """The captions in a ``/clips/text`` value: its non-blank lines, stripped ("" = none). A store written before
    clips had several captions holds one line per clip, read as one caption."""
    return [line.strip() for line in text.split(CAPTION_SEPARATOR) if line.strip()]


def encode_track_names(names) -> str:
    """``/clips/track_names``: a JSON list of the clip's track names, "" when it has none."""
    return json.dumps([str(name) for name in names]) if len(names) else ""


def decode_track_names(text: str) -> tuple[str, ...] | None:
    """The names written by :func:`encode_track_names`; None for a value that is not a JSON list of strings."""
    if not text:
        return ()
    try:
        names = json.loads(text)
    except ValueError:
        return None
    if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
        return None
    return tuple(names)


def provenance_step(**step) -> dict:
    return {"time": datetime.now(timezone.utc).isoformat(timespec="seconds"), "posekit": __version__, **step}


def temporary_beside(path: str | Path) -> Path:
    """Create an empty temporary file in the folder of ``path`` (same file system, so a rename is atomic)."""
    path = check_file_path(path, StoreError)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as e:
        raise StoreError(f"{path}: cannot write here ({e.strerror})") from None
    os.close(fd)
    # mkstemp makes the file private (0600); the finished file gets the mode any new file would get here.
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    return Path(tmp)


@contextmanager
def atomic_path(path: str | Path):
    """Yield a temporary path beside ``path`` that replaces ``path`` only if the block completes."""
    tmp = temporary_beside(path)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def check_format(f: h5py.File, path) -> None:
    if f.attrs.get("format") != FORMAT:
        raise StoreError(f"{path}: not a posekit store (no format={FORMAT!r} attribute)")
    if int(f.attrs.get("format_version", 0)) > FORMAT_VERSION:
        raise StoreError(
            f"{path}: store format version {f.attrs['format_version']} is newer than this posekit "
            f"({FORMAT_VERSION}); upgrade posekit"
        )
