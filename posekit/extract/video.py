"""The videos to extract (found in folders, each with its id) and their frames in the experts' batches (decoded
by :class:`posekit.video.VideoReader`; no frame is written to disk)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from ..errors import InputError
from ..video import VIDEO_SUFFIXES, VideoReader


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


def frame_batches(reader: VideoReader, size: int) -> Iterator[tuple[np.ndarray, list[np.ndarray]]]:
    """(frame indices, BGR frames) for every decoded frame, ``size`` at a time, as the experts take them; fails if
    no frame decodes."""
    indices, frames, decoded = [], [], 0
    for index, frame in reader.frames():
        indices.append(index)
        frames.append(frame)
        decoded += 1
        if len(frames) == size:
            yield np.array(indices), frames
            indices, frames = [], []
    if not decoded:
        raise InputError(f"{reader.path}: no frame could be decoded (empty or corrupt video)")
    if frames:
        yield np.array(indices), frames
