"""The videos to extract (found in folders, each with its id) and their frames in the experts' batches (decoded
by :class:`posekit.video.VideoReader`; no frame is written to disk). A video is a video file, a still image (one
frame) or a folder of numbered frames."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from ..errors import InputError
from ..video import IMAGE_SUFFIXES, VIDEO_SUFFIXES, VideoReader, folder_images, numbered_frames


@dataclass(frozen=True)
class Video:
    """A video to extract: its id in the proposals store (path relative to the folder given, without suffix; a
    folder of numbered frames: the folder's path, or name when it is the folder given) and its path."""

    id: str
    path: Path


def find_videos(sources, report: Callable[[str], None] = lambda line: None) -> list[Video]:
    """Videos and images named directly, plus those found recursively in named folders; ids must be unique.
    ``report(line)`` is told, for each folder holding images, how they are read (:func:`_images_in`)."""
    videos = []
    for source in map(Path, sources):
        if source.is_dir():
            videos += _in_folder(source, report)
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


def shard_videos(videos: list[Video], index: int, count: int) -> list[Video]:
    """The ``index``-th (0-based) of ``count`` contiguous slices of ``videos``, in their order, the first
    ``len(videos) % count`` one video longer than the rest (a slice past the videos is empty). Slices of the same
    list (the same sources, listed the same way) never overlap and together hold every video in its order: the
    shards' stores merged in shard order hold the clips of one run over all the videos."""
    size, longer = divmod(len(videos), count)
    start = index * size + min(index, longer)
    return videos[start : start + size + (index < longer)]


def _in_folder(source: Path, report: Callable[[str], None]) -> list[Video]:
    """The video files under ``source`` and what the images of each folder under it make, in path order."""
    files = [p for p in source.rglob("*") if p.is_file()]
    videos = [Video(_file_id(p, source), p) for p in files if p.suffix.lower() in VIDEO_SUFFIXES]
    for folder in sorted({p.parent for p in files if p.suffix.lower() in IMAGE_SUFFIXES}):
        videos += _images_in(folder, source, report)
    if not videos:
        raise InputError(
            f"{source}: no video or image files ({' '.join(VIDEO_SUFFIXES + IMAGE_SUFFIXES)}) in this folder"
        )
    return sorted(videos, key=lambda video: video.path)


def _images_in(folder: Path, source: Path, report: Callable[[str], None]) -> list[Video]:
    """The images of one folder: numbered frames are one video (:func:`posekit.video.numbered_frames`), other
    images one video each, of one frame."""
    frames = numbered_frames(folder)
    if frames is not None:
        report(f"{folder}: {len(frames)} numbered frames -> one clip")
        folder_id = folder.relative_to(source).as_posix() if folder != source else source.resolve().name
        return [Video(folder_id, folder)]
    images = folder_images(folder)
    if not images:  # only hidden image files
        return []
    plural = "s" if len(images) != 1 else ""
    report(f"{folder}: {len(images)} image{plural} -> {len(images)} one-frame clip{plural}")
    return [Video(_file_id(p, source), p) for p in images]


def _file_id(path: Path, source: Path) -> str:
    return path.relative_to(source).with_suffix("").as_posix()


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
