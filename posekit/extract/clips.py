"""One video -> its proposal clips: every expert on every decoded frame, persons tracked across frames and
experts, the main persons kept, one clip per (video, expert) in the common layout (data_schemas/proposals.md)."""

from __future__ import annotations

from typing import Callable

import numpy as np

from ..errors import InputError
from ..layouts import Layout, mapping
from ..store import Clip
from ..video import VideoReader
from .experts import Expert, FramePoses
from .tracking import Tracker, main_tracks
from .video import Video, frame_batches

MAX_READ_BATCH = 64


def clip_id(video_id: str, expert_name: str) -> str:
    return f"{video_id}@{expert_name}"


def extract_video(
    video: Video,
    experts: list[Expert],
    layout: Layout,
    max_persons: int | None,
    on_frames: Callable[[int], None] | None = None,
    max_frames: int | None = None,
) -> list[Clip]:
    """The clips of ``video``, one per expert, all with the same frames and the same person slots.

    ``on_frames(n)`` is told each time n more frames are done; ``max_frames`` stops after that many frames."""
    tracker = Tracker()
    records = [[] for _ in experts]  # per expert, per frame: (track ids, poses in the common layout)
    frame_numbers = []
    with VideoReader(video.path) as reader:
        for expert in experts:
            expert.start(video, reader.image_size)
        maps = [_mapping(expert, layout, video) for expert in experts]
        read_batch = min(max(e.batch_size for e in experts), MAX_READ_BATCH)
        done = 0
        for indices, frames in frame_batches(reader, read_batch):
            if max_frames is not None:
                indices, frames = indices[: max_frames - done], frames[: max_frames - done]
            found = [
                [_in_layout(p, joint_map) for p in _predict(expert, frames, indices)]
                for expert, joint_map in zip(experts, maps)
            ]
            frame_numbers += [int(i) for i in indices]
            for t in range(len(frames)):
                ids = tracker.update(int(indices[t]), [(poses[t].keypoints, poses[t].boxes) for poses in found])
                for e, poses in enumerate(found):
                    records[e].append((ids[e], poses[t]))
            done += len(frames)
            if on_frames is not None:
                on_frames(len(frames))
            if max_frames is not None and done >= max_frames:
                break
        fps, image_size = reader.fps, reader.image_size
    # The cap keeps a video's main actors over time; a photo (one frame) has no such story: every person stays.
    cap = max_persons if len(frame_numbers) > 1 else None
    slots = {track: slot for slot, track in enumerate(main_tracks(tracker, cap))}
    return [
        _clip(video, expert, frames, frame_numbers, slots, layout, fps, image_size)
        for expert, frames in zip(experts, records)
    ]


def _mapping(expert: Expert, layout: Layout, video: Video):
    joint_map = mapping(expert.layout, layout)
    if not joint_map.matched.any():
        raise InputError(
            f"{video.path}: expert {expert.name!r} ({expert.layout.name}) shares no joint with layout {layout.name!r}"
        )
    return joint_map


def _predict(expert: Expert, frames, indices) -> list[FramePoses]:
    out = []
    for start in range(0, len(frames), expert.batch_size):
        out += expert.predict(frames[start : start + expert.batch_size], indices[start : start + expert.batch_size])
    return out


def _in_layout(poses: FramePoses, joint_map) -> FramePoses:
    """Poses in the common layout; persons without a single joint left are dropped. Boxes come from the
    expert (or the extent of all its joints), before joints the common layout lacks are dropped."""
    poses = poses.with_boxes()
    keypoints = joint_map.apply(np.asarray(poses.keypoints, np.float32), axis=1)
    scores = joint_map.apply(np.asarray(poses.scores, np.float32), axis=1)
    keep = ~np.isnan(keypoints).all(axis=(1, 2)) & ~np.isnan(poses.boxes).any(axis=1)
    return FramePoses(keypoints[keep], scores[keep], np.asarray(poses.boxes, np.float32)[keep])


def _clip(video, expert, frames, frame_numbers, slots, layout, fps, image_size) -> Clip:
    t, m, v = len(frames), len(slots), layout.num_joints
    keypoints = np.full((t, m, v, 2), np.nan, np.float32)
    scores = np.full((t, m, v), np.nan, np.float32)
    boxes = np.full((t, m, 4), np.nan, np.float32)
    track_id = np.full((t, m), -1, np.int32)
    for f, (ids, poses) in enumerate(frames):
        for p, track in enumerate(ids):
            slot = slots.get(int(track))
            if slot is None:
                continue
            keypoints[f, slot], scores[f, slot], boxes[f, slot] = poses.keypoints[p], poses.scores[p], poses.boxes[p]
            track_id[f, slot] = slot
    return Clip(
        id=clip_id(video.id, expert.name),
        keypoints=keypoints,
        scores=scores,
        box=boxes,
        track_id=track_id,
        frame_index=np.asarray(frame_numbers, np.int64),
        fps=fps,
        image_size=image_size,
        source=str(video.path),
    )
