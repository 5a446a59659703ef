"""Reading a proposals store (data_schemas/proposals.md): one clip per (video, expert), persons = tracks.

A clip id is ``"<video_id>@<expert>"`` (split on the last '@'). The experts of a video share its frames, and a
track id names the same person in every expert's clip, whatever slot it sits in; that is what lets SST-A compare
the experts' estimates of one person.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from ..store import SkeletonStore


@dataclass
class VideoProposals:
    """The experts' clips of one video, aligned by track: poses (P, E, T, V, 2), NaN where an expert lacks one."""

    video_id: str
    experts: list[str]
    track_ids: np.ndarray  # (P,) sorted
    poses: np.ndarray  # (P, E, T, V, 2) float32, as stored (SST-A computes in float32 then)
    frame_index: np.ndarray  # (T,) shared by the experts
    first_clip: int  # index of the video's first expert clip: fps, source, label... are copied from it


def split_clip_id(clip_id: str, path) -> tuple[str, str]:
    """``"video@expert"`` -> (video, expert); the video id may itself contain '@'."""
    video, at, expert = clip_id.rpartition("@")
    if not at or not video or not expert:
        raise InputError(
            f"{path}: clip {clip_id!r} is not named VIDEO@EXPERT; is this a proposals store "
            f"(written by posekit extract)?"
        )
    return video, expert


def group_videos(store: SkeletonStore) -> dict[str, dict[str, int]]:
    """video id -> {expert: clip index}, videos and experts in store order."""
    videos: dict[str, dict[str, int]] = {}
    for index, clip_id in enumerate(store.ids):
        video, expert = split_clip_id(clip_id, store.path)
        videos.setdefault(video, {})[expert] = index  # ids are unique, so no expert appears twice per video
    return videos


def expert_order(store: SkeletonStore, videos: dict[str, dict[str, int]]) -> list[str]:
    """All experts, in the order the extract step lists them (SST-A breaks ties by expert order), else store order."""
    seen = list(dict.fromkeys(expert for clips in videos.values() for expert in clips))
    listed = next((step.get("experts") for step in reversed(store.provenance) if step.get("step") == "extract"), None)
    names = [e if isinstance(e, str) else e.get("name") for e in listed or ()]
    return [e for e in names if e in seen] + [e for e in seen if e not in names]


def load_video(store: SkeletonStore, video_id: str, clips: dict[str, int], experts: list[str]) -> VideoProposals:
    """Align the tracks of one video's expert clips by track id (never by slot order)."""
    names = [e for e in experts if e in clips]
    if len(names) < 2:
        raise InputError(
            f"{store.path}: video {video_id!r} has {len(names)} expert ({', '.join(names)}); "
            f"SST-A needs the proposals of at least 2 experts"
        )
    frames = [store.frames(clips[e], ("keypoints", "track_id", "frame_index")) for e in names]
    reference = frames[0]["frame_index"]
    for name, f in zip(names, frames):
        if not np.array_equal(f["frame_index"], reference):
            raise InputError(
                f"{store.path}: clip {video_id}@{name} does not have the same frames as "
                f"{video_id}@{names[0]}; the experts of a video must share its frames"
            )
        _check_unique_tracks(f["track_id"], f"{store.path}: clip {video_id}@{name}")
    track_ids = np.unique(np.concatenate([f["track_id"][f["track_id"] >= 0] for f in frames]))
    n_frames, n_joints = len(reference), store.layout.num_joints
    poses = np.full((len(track_ids), len(names), n_frames, n_joints, 2), np.nan, np.float32)
    for e, f in enumerate(frames):  # a loop over the few experts; persons and frames are scattered at once
        frame, slot = np.nonzero(f["track_id"] >= 0)
        person = np.searchsorted(track_ids, f["track_id"][frame, slot])
        poses[person, e, frame] = f["keypoints"][frame, slot, :, :2]
    return VideoProposals(video_id, names, track_ids, poses, reference, clips[names[0]])


def _check_unique_tracks(track_id, where):
    ids = np.sort(np.where(track_id >= 0, track_id, -1), axis=1)
    repeated = (ids[:, 1:] == ids[:, :-1]) & (ids[:, 1:] >= 0)
    if repeated.any():
        frame, slot = np.argwhere(repeated)[0]
        raise InputError(f"{where}: track id {ids[frame, slot + 1]} is in two person slots of frame {frame}")
