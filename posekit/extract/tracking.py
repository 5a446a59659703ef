"""Person tracks across frames and across experts: stable ids, and the M main persons of a clip.

Each frame, the persons of each expert in turn are assigned to the live tracks by the Hungarian method
(scipy's ``linear_sum_assignment``) on the cost ``(1 - box IoU) + mean joint distance / box diagonal``,
compared with both the track's last observation and its constant-velocity prediction (the smaller cost wins:
prediction carries crossing persons through each other, the last observation holds a person who stopped behind
an occluder). A track takes at most one person per expert per frame, so track k of expert A and track k of
expert B are the same person; the first expert to see a track in a frame updates its state. Persons no track
takes start new tracks; a track unseen for more than ``max_gap`` frames ends (a person who comes back later gets
a new id)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linear_sum_assignment


@dataclass
class Track:
    id: int
    box: np.ndarray  # (4,) last observed x1 y1 x2 y2
    keypoints: np.ndarray  # (V, 2) last observed, NaN = missing
    last_frame: int
    box_velocity: np.ndarray = field(default_factory=lambda: np.zeros(4, np.float32))  # per frame
    keypoint_velocity: np.ndarray | None = None
    size: float = 0.0  # summed box diagonal over the frames it was seen: long and large tracks score high
    frames: int = 0


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(len(a), len(b)) intersection over union of x1 y1 x2 y2 boxes; 0 where a box is NaN."""
    a, b = np.asarray(a, np.float64)[:, None], np.asarray(b, np.float64)[None]
    w = np.clip(np.minimum(a[..., 2], b[..., 2]) - np.maximum(a[..., 0], b[..., 0]), 0, None)
    h = np.clip(np.minimum(a[..., 3], b[..., 3]) - np.maximum(a[..., 1], b[..., 1]), 0, None)
    inter = w * h
    area_a = (a[..., 2] - a[..., 0]) * (a[..., 3] - a[..., 1])
    area_b = (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1])
    union = area_a + area_b - inter
    return np.nan_to_num(np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0))


def keypoint_distance(a: np.ndarray, b: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """(len(a), len(b)) mean distance over joints present in both poses, divided by ``scale`` (one per b);
    inf where the poses share no joint."""
    d = np.linalg.norm(np.asarray(a, np.float64)[:, None] - np.asarray(b, np.float64)[None], axis=-1)  # (A, B, V)
    valid = ~np.isnan(d)
    mean = np.where(valid.any(-1), np.nansum(d, axis=-1) / np.maximum(valid.sum(-1), 1), np.inf)
    return mean / np.maximum(np.asarray(scale, np.float64)[None], 1e-6)


def _diagonal(boxes: np.ndarray) -> np.ndarray:
    return np.hypot(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1])


class Tracker:
    """Online tracker over frames; ``update`` once per frame with every expert's persons."""

    def __init__(self, max_gap: int = 10, max_cost: float = 1.2, smoothing: float = 0.5):
        self.max_gap, self.max_cost, self.smoothing = max_gap, max_cost, smoothing
        self.tracks: dict[int, Track] = {}  # every track, ended ones included (for selection)
        self._next_id = 0

    def update(self, frame: int, persons: list[tuple[np.ndarray, np.ndarray]]) -> list[np.ndarray]:
        """Assign track ids to each expert's persons in ``frame``.

        ``persons``: per expert, (keypoints (P, V, 2), boxes (P, 4)) in one common layout. Returns per expert
        the (P,) track ids."""
        live = [t for t in self.tracks.values() if frame - t.last_frame <= self.max_gap]
        updated: set[int] = set()
        out = []
        for keypoints, boxes in persons:
            ids = np.full(len(keypoints), -1, np.int64)
            taken = self._assign(frame, keypoints, boxes, live)
            for p, track in taken.items():
                ids[p] = track.id
                if track.id not in updated:
                    self._observe(track, frame, keypoints[p], boxes[p])
                    updated.add(track.id)
            for p in np.flatnonzero(ids < 0):
                track = self._start(frame, keypoints[p], boxes[p])
                live.append(track)
                updated.add(track.id)
                ids[p] = track.id
            out.append(ids)  # tracks this expert started are offered to the next experts, not to this one
        return out

    def _assign(self, frame, keypoints, boxes, tracks) -> dict[int, Track]:
        if not len(keypoints) or not tracks:
            return {}
        cost = np.full((len(keypoints), len(tracks)), np.inf)
        for observed in (True, False):
            t_boxes = np.stack([self._box(t, frame, observed) for t in tracks])
            t_points = np.stack([self._keypoints(t, frame, observed) for t in tracks])
            c = (1 - box_iou(boxes, t_boxes)) + keypoint_distance(keypoints, t_points, _diagonal(t_boxes))
            cost = np.minimum(cost, np.nan_to_num(c, nan=np.inf))
        feasible = np.where(cost <= self.max_cost, cost, 1e6)
        rows, cols = linear_sum_assignment(feasible)
        return {int(r): tracks[c] for r, c in zip(rows, cols) if cost[r, c] <= self.max_cost}

    @staticmethod
    def _box(track, frame, observed):
        return track.box if observed else track.box + track.box_velocity * (frame - track.last_frame)

    @staticmethod
    def _keypoints(track, frame, observed):
        if observed or track.keypoint_velocity is None:
            return track.keypoints
        return track.keypoints + np.nan_to_num(track.keypoint_velocity) * (frame - track.last_frame)

    def _start(self, frame, keypoints, box) -> Track:
        track = Track(self._next_id, np.asarray(box, np.float32), np.asarray(keypoints, np.float32), frame)
        track.size, track.frames = float(np.nan_to_num(_diagonal(track.box[None])[0])), 1
        self.tracks[track.id] = track
        self._next_id += 1
        return track

    def _observe(self, track, frame, keypoints, box):
        dt = frame - track.last_frame
        a = self.smoothing
        box = np.asarray(box, np.float32)
        keypoints = np.asarray(keypoints, np.float32)
        track.box_velocity = np.nan_to_num(a * (box - track.box) / dt + (1 - a) * track.box_velocity)
        velocity = (keypoints - track.keypoints) / dt
        track.keypoint_velocity = (
            velocity
            if track.keypoint_velocity is None
            else np.where(
                np.isnan(velocity),
                track.keypoint_velocity,
                a * velocity + (1 - a) * np.nan_to_num(track.keypoint_velocity),
            )
        )
        track.box, track.keypoints, track.last_frame = (
            box,
            np.where(np.isnan(keypoints), track.keypoints, keypoints),
            frame,
        )
        track.size += float(np.nan_to_num(_diagonal(box[None])[0]))
        track.frames += 1


def main_tracks(tracker: Tracker, max_persons: int | None) -> list[int]:
    """Ids of the ``max_persons`` main tracks (all when None), largest summed box diagonal over frames first:
    long tracks of large persons win over short or small ones (passers-by, false detections)."""
    ranked = sorted(tracker.tracks.values(), key=lambda t: (-t.size, t.id))
    return [t.id for t in ranked[:max_persons]] if max_persons is not None else [t.id for t in ranked]
