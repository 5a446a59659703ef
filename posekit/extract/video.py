"""Finding videos and decoding them as a stream of frame batches (OpenCV; no frame is written to disk)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from ..errors import InputError

VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv", ".flv", ".3gp", ".ts")


@dataclass(frozen=True)
class Video:
    """A video to extract: its id in the proposals store (path relative to the folder given, without suffix)."""
    id: str
    path: Path


def find_videos(sources) -> list[Video]:
    """Videos named directly, plus videos found recursively in named folders; ids must be unique."""
    videos = []
    for source in map(Path, sources):
        if source.is_dir():
            found = sorted(p for p in source.rglob("*") if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES)
            if not found:
                raise InputError(f"{source}: no video files ({' '.join(VIDEO_SUFFIXES)}) in this folder")
            videos += [Video(p.relative_to(source).with_suffix("").as_posix(), p) for p in found]
        elif source.is_file():
            videos.append(Video(source.stem, source))
        else:
            raise InputError(f"{source}: no such file or folder")
    seen = {}
    for video in videos:
        if video.id in seen:
            raise InputError(f"{video.path}: same video id {video.id!r} as {seen[video.id]}; give each its own name")
        seen[video.id] = video.path
    return videos


class VideoReader:
    """Streamed decoding of one video in batches of BGR frames, with the facts the store records."""

    def __init__(self, path: Path):
        import cv2

        self.path = Path(path)
        self._capture = cv2.VideoCapture(str(self.path))
        if not self._capture.isOpened():
            raise InputError(f"{self.path}: cannot be opened as a video (unreadable or corrupt)")
        fps = self._capture.get(cv2.CAP_PROP_FPS)
        self.fps = float(fps) if fps and fps > 0 else float("nan")
        self.frame_count = max(int(self._capture.get(cv2.CAP_PROP_FRAME_COUNT)), 0)  # the header's estimate
        self.image_size = (int(self._capture.get(cv2.CAP_PROP_FRAME_WIDTH)),
                           int(self._capture.get(cv2.CAP_PROP_FRAME_HEIGHT)))

    def batches(self, size: int) -> Iterator[tuple[np.ndarray, list[np.ndarray]]]:
        """(frame indices, frames) for every decoded frame, ``size`` at a time; fails if no frame decodes."""
        index, batch = 0, []
        while True:
            ok, frame = self._capture.read()
            if not ok:
                break
            if index == 0:
                self.image_size = (frame.shape[1], frame.shape[0])
            batch.append(frame)
            index += 1
            if len(batch) == size:
                yield np.arange(index - len(batch), index), batch
                batch = []
        if index == 0:
            raise InputError(f"{self.path}: no frame could be decoded (empty or corrupt video)")
        if batch:
            yield np.arange(index - len(batch), index), batch

    def close(self):
        self._capture.release()

    def __enter__(self) -> "VideoReader":
        return self

    def __exit__(self, *exc):
        self.close()
