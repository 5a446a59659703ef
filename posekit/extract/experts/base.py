"""The one interface every pose expert implements, and the per-frame poses it returns."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...layouts import Layout
from ..video import Video


@dataclass
class FramePoses:
    """The persons one expert found in one frame, in the expert's own layout, image pixels."""

    keypoints: np.ndarray  # (P, V, 2), NaN = missing joint
    scores: np.ndarray  # (P, V) the expert's per-joint confidence, NaN = unknown
    boxes: np.ndarray | None = None  # (P, 4) x1 y1 x2 y2; None (or a NaN row): the extent of the keypoints

    @classmethod
    def empty(cls, num_joints: int) -> "FramePoses":
        return cls(
            np.zeros((0, num_joints, 2), np.float32),
            np.zeros((0, num_joints), np.float32),
            np.zeros((0, 4), np.float32),
        )

    def __len__(self) -> int:
        return len(self.keypoints)

    def with_boxes(self) -> "FramePoses":
        """Boxes filled in from the keypoints' extent where the expert gave none (no boxes, or a NaN box)."""
        boxes = (
            np.full((len(self), 4), np.nan, np.float32)
            if self.boxes is None
            else np.array(self.boxes, np.float32).reshape(len(self), 4)
        )
        for p in np.flatnonzero(np.isnan(boxes).any(axis=1)):
            xy = self.keypoints[p]
            valid = xy[~np.isnan(xy).any(axis=-1)]
            if len(valid):
                boxes[p] = (*valid.min(axis=0), *valid.max(axis=0))
        return FramePoses(self.keypoints, self.scores, boxes)


class Expert:
    """A pose estimator seen by ``posekit extract``.

    ``start(video)`` is called before the frames of each video (stateful trackers reset there, file experts find
    the video's file), then ``predict`` on consecutive batches of at most ``batch_size`` frames, in order."""

    name: str
    layout: Layout
    batch_size: int = 1

    def start(self, video: Video, image_size: tuple[int, int]) -> None:
        """Prepare for the frames of ``video`` (width, height)."""

    def predict(self, frames: list[np.ndarray], indices: np.ndarray) -> list[FramePoses]:
        """Poses in each of ``frames`` (BGR images), whose frame numbers in the video are ``indices``."""
        raise NotImplementedError

    def close(self) -> None:
        """Release models and sessions."""
