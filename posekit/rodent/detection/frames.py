"""Frames of a video or of a folder of still images, as small grey squares the detector works on.

Every frame is converted to grey and letterboxed into a ``size`` x ``size`` square (scaled so its longer side
fits, padded at the bottom/right with the frame's edge pixels); :class:`Letterbox` maps work coordinates back
to the source's pixels. Detection works at this small size so that training and inference stay fast on a CPU.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ...errors import InputError
from ...video import IMAGE_SUFFIXES, VideoReader


@dataclass(frozen=True)
class Letterbox:
    """Geometry of one source's frames in the work square: ``work = source * scale``."""

    width: int
    height: int
    size: int

    @property
    def scale(self) -> float:
        return self.size / max(self.width, self.height)

    def to_source(self, xy: np.ndarray) -> np.ndarray:
        """Work-square coordinates (any shape ending in x, y or x1, y1, x2, y2) to source pixels; both put
        pixel centres at integers, so a point maps as (x + 0.5) / scale - 0.5."""
        return (np.asarray(xy, np.float32) + 0.5) / self.scale - 0.5

    def fit(self, grey: np.ndarray) -> np.ndarray:
        w, h = round(self.width * self.scale), round(self.height * self.scale)
        small = cv2.resize(grey, (w, h), interpolation=cv2.INTER_AREA)
        return cv2.copyMakeBorder(small, 0, self.size - h, 0, self.size - w, cv2.BORDER_REPLICATE)


@dataclass(frozen=True)
class Source:
    """A video file or a folder of images (one clip, frames in name order)."""

    path: Path
    num_frames: int
    fps: float
    width: int
    height: int
    images: tuple[Path, ...] = ()

    def letterbox(self, size: int) -> Letterbox:
        return Letterbox(self.width, self.height, size)


def open_sources(paths) -> list[Source]:
    """The inputs of ``posekit rodent detect``: videos, folders of still images (one source each), and folders
    of videos (each video found in them, recursively, is a source)."""
    from ...extract.video import find_videos

    sources = []
    for path in map(Path, paths):
        holds_images = path.is_dir() and any(p.suffix.lower() in IMAGE_SUFFIXES for p in path.iterdir())
        if path.is_dir() and not holds_images:
            try:
                videos = find_videos([path])
            except InputError:
                raise InputError(
                    f"{path}: folder holds no images ({', '.join(IMAGE_SUFFIXES)}) and no videos"
                ) from None
            sources += [open_source(video.path) for video in videos]
        else:
            sources.append(open_source(path))
    return sources


def open_source(path: str | Path) -> Source:
    """Probe a video or image folder; a file that is not one raises a one-line InputError."""
    path = Path(path)
    if path.is_dir():
        images = tuple(sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES))
        if not images:
            raise InputError(f"{path}: folder holds no images ({', '.join(IMAGE_SUFFIXES)})")
        first = _read_image(images[0])
        return Source(path, len(images), float("nan"), first.shape[1], first.shape[0], images)
    if not path.is_file():
        raise InputError(f"{path}: no such video or image folder")
    with VideoReader(path) as reader:
        if next(reader.frames(), None) is None:
            raise InputError(f"{path}: not a readable video (OpenCV could not decode a frame)")
        return Source(path, max(reader.frame_count, 1), reader.fps, *reader.image_size)


def grey_frames(source: Source, size: int):
    """Yield (frame index, size x size uint8 grey frame) for every frame of the source, in order."""
    box = source.letterbox(size)
    if source.images:
        for index, image in enumerate(source.images):
            frame = _read_image(image)
            if frame.shape[:2] != (source.height, source.width):
                raise InputError(
                    f"{image}: {frame.shape[1]}x{frame.shape[0]} differs from the folder's first "
                    f"image ({source.width}x{source.height})"
                )
            yield index, box.fit(_grey(frame))
        return
    with VideoReader(source.path) as reader:
        for index, frame in reader.frames():
            yield index, box.fit(_grey(frame))


def _read_image(path: Path) -> np.ndarray:
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if image is None:
        raise InputError(f"{path}: not a readable image")
    return image


def _grey(frame: np.ndarray) -> np.ndarray:
    if frame.ndim == 2:
        grey = frame
    else:
        grey = cv2.cvtColor(frame, cv2.COLOR_BGRA2GRAY if frame.shape[2] == 4 else cv2.COLOR_BGR2GRAY)
    if grey.dtype != np.uint8:  # 16-bit stills: keep their full range
        grey = cv2.normalize(grey, None, 0, 255, cv2.NORM_MINMAX).astype(np.uint8)
    return grey
