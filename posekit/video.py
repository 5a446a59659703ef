"""The one video reader: a video's facts (fps, size, frame count) and its frames, decoded by OpenCV.

Frames come as OpenCV decodes them, BGR uint8 (H, W, 3); a caller that wants RGB or grey converts. They are
decoded in order and never reached by seeking: a seek lands on a key frame in many codecs and shifts every frame
after it by a few. Frames skipped on the way are only grabbed (demuxed and decoded, not converted to BGR). A still
image opens as a one-frame video. OpenCV is imported when a reader opens, so importing this module costs nothing.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np

from .errors import InputError

VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv", ".flv", ".3gp", ".ts")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")


class VideoReader:
    """One opened video. ``fps`` is NaN when the container does not say; ``frame_count`` is the header's estimate
    (0 when unknown; the real end is where decoding stops); ``image_size`` (width, height) is the header's until a
    frame is decoded, then the decoded frames'. A missing file, or one OpenCV cannot open, raises a one-line
    InputError naming it."""

    def __init__(self, path: str | Path):
        import cv2

        self.path = Path(path)
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
        self._position = -1  # index of the frame last grabbed

    def frames(self, start: int = 0, step: int = 1) -> Iterator[tuple[int, np.ndarray]]:
        """(index, frame) for frames ``start``, ``start + step``, ... to the video's real end."""
        if start < 0 or step < 1:
            raise ValueError(f"frames from {start} every {step}: start must be >= 0 and step >= 1")
        return self._decode(itertools.count(start, step))

    def read(self, indices: Iterable[int]) -> Iterator[tuple[int, np.ndarray]]:
        """(index, frame) for each distinct frame index asked for, in ascending order, until the video ends: an
        index past the end is left out, so a caller that needs every frame compares what came back."""
        wanted = sorted({int(index) for index in indices})
        if wanted and wanted[0] < 0:
            raise ValueError(f"frame index {wanted[0]}: frame indices start at 0")
        return self._decode(iter(wanted))

    def close(self) -> None:
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
