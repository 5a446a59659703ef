"""The one video reader: a video's facts (fps, size, frame count) and its frames, decoded by OpenCV.

Frames come as OpenCV decodes them, BGR uint8 (H, W, 3); a caller that wants RGB or grey converts. They are
decoded in order and never reached by seeking: a seek lands on a key frame in many codecs and shifts every frame
after it by a few. Frames skipped on the way are only grabbed (demuxed and decoded, not converted to BGR). A still
image opens as a one-frame video, and a folder of numbered frames (:func:`numbered_frames`) as a video whose frame
indices are the numbers in the names. OpenCV is imported when a reader opens, so importing this module costs nothing.
"""

from __future__ import annotations

import itertools
import re
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np

from .errors import InputError

VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv", ".flv", ".3gp", ".ts")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")
NUMBERED_NAME = re.compile(r"(?P<prefix>.*?)(?P<number>\d+)(?P<suffix>\D*)")  # the last number of a file name


def folder_images(folder: Path) -> list[Path]:
    """The image files directly in ``folder``, by name; hidden ones (macOS's ``._`` copies) left out."""
    return sorted(
        p for p in Path(folder).iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES and p.name[0] != "."
    )


def numbered_frames(folder: Path) -> list[tuple[int, Path]] | None:
    """The images of ``folder`` as the frames of one video, ``(number, path)`` in numeric order, when they are
    numbered frames: at least two, all named alike but for their last number (``frame_0001.png``,
    ``frame_0002.png``...; ``000123.jpg``), each number once, at a steady step: at least half of the numbers from
    the first to the last, at the smallest step between two, are there (frames dropped or sampled every k stay a
    video; photos numbered far apart, as COCO's, do not). Else None."""
    images = folder_images(folder)
    matches = [NUMBERED_NAME.fullmatch(p.name) for p in images]
    if len(images) < 2 or not all(matches) or len({(m["prefix"], m["suffix"]) for m in matches}) != 1:
        return None
    frames = sorted((int(m["number"]), p) for m, p in zip(matches, images))
    numbers = [n for n, _ in frames]
    steps = [b - a for a, b in zip(numbers, numbers[1:])]
    if min(steps) == 0:  # frame_1.png and frame_01.png
        return None
    slots = (numbers[-1] - numbers[0]) // min(steps) + 1
    return frames if 2 * len(frames) >= slots else None


class VideoReader:
    """One opened video. ``fps`` is NaN when the container does not say; ``frame_count`` is the header's estimate
    (0 when unknown; the real end is where decoding stops); ``image_size`` (width, height) is the header's until a
    frame is decoded, then the decoded frames'. A missing file, or one OpenCV cannot open, raises a one-line
    InputError naming it. A folder of numbered frames has no fps (NaN), its image count as frame count and its
    first image's size; each frame must have that size."""

    def __init__(self, path: str | Path):
        import cv2

        self.path = Path(path)
        self._position = -1  # index of the frame last grabbed
        self._images = dict(self._numbered_frames()) if self.path.is_dir() else None
        if self._images is not None:
            self._capture, self.fps, self.frame_count = None, float("nan"), len(self._images)
            first = _read_image(next(iter(self._images.values())))
            self.image_size = (first.shape[1], first.shape[0])
            return
        self._capture = self._open()
        fps = self._capture.get(cv2.CAP_PROP_FPS)
        self.fps = float(fps) if fps and fps > 0 else float("nan")
        if self.path.suffix.lower() in IMAGE_SUFFIXES:
            self.frame_count = 1  # OpenCV reports a meaningless count for a still
        else:
            self.frame_count = max(int(self._capture.get(cv2.CAP_PROP_FRAME_COUNT)), 0)
        self.image_size = (
            int(self._capture.get(cv2.CAP_PROP_FRAME_WIDTH)),
            int(self._capture.get(cv2.CAP_PROP_FRAME_HEIGHT)),
        )

    def frames(self, start: int = 0, step: int = 1) -> Iterator[tuple[int, np.ndarray]]:
        """(index, frame) for frames ``start``, ``start + step``, ... to the video's real end."""
        if start < 0 or step < 1:
            raise ValueError(f"frames from {start} every {step}: start must be >= 0 and step >= 1")
        if self._images is not None:
            return self._read_images(n for n in self._images if n >= start and (n - start) % step == 0)
        return self._decode(itertools.count(start, step))

    def read(self, indices: Iterable[int]) -> Iterator[tuple[int, np.ndarray]]:
        """(index, frame) for each distinct frame index asked for, in ascending order, until the video ends: an
        index past the end is left out, so a caller that needs every frame compares what came back."""
        wanted = sorted({int(index) for index in indices})
        if wanted and wanted[0] < 0:
            raise ValueError(f"frame index {wanted[0]}: frame indices start at 0")
        if self._images is not None:
            return self._read_images(n for n in wanted if n in self._images)
        return self._decode(iter(wanted))

    def close(self) -> None:
        if self._capture is not None:
            self._capture.release()

    def __enter__(self) -> "VideoReader":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _open(self):
        import cv2

        if not self.path.is_file():
            raise InputError(f"{self.path}: no such video file")
        capture = cv2.VideoCapture(str(self.path))
        if not capture.isOpened():
            raise InputError(f"{self.path}: not a readable video (OpenCV cannot open it)")
        return capture

    def _numbered_frames(self) -> list[tuple[int, Path]]:
        frames = numbered_frames(self.path)
        if frames is None:
            raise InputError(
                f"{self.path}: not a folder of numbered frames (images named alike but for a number at a steady "
                "step, e.g. frame_0001.png, frame_0002.png...)"
            )
        return frames

    def _read_images(self, numbers: Iterator[int]) -> Iterator[tuple[int, np.ndarray]]:
        for number in numbers:
            path = self._images[number]
            frame = _read_image(path)
            if (frame.shape[1], frame.shape[0]) != self.image_size:
                raise InputError(
                    f"{path}: {frame.shape[1]}x{frame.shape[0]}, where the folder's first frame is "
                    f"{self.image_size[0]}x{self.image_size[1]}; the frames of a video share one size"
                )
            yield number, frame

    def _decode(self, ascending: Iterator[int]) -> Iterator[tuple[int, np.ndarray]]:
        for target in ascending:
            if target <= self._position:  # behind the decoder: start again from the first frame
                self._capture.release()
                self._capture, self._position = self._open(), -1
            while self._position < target:
                if not self._capture.grab():
                    return
                self._position += 1
            ok, frame = self._capture.retrieve()
            if not ok:
                raise InputError(f"{self.path}: could not decode frame {target}")
            self.image_size = (frame.shape[1], frame.shape[0])
            yield target, frame


def _read_image(path: Path) -> np.ndarray:
    import cv2

    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise InputError(f"{path}: not a readable image")
    return image
