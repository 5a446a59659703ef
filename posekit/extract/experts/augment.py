"""Test-time augmentation: one model run on flipped or rescaled frames is one more expert (``blazepose+flip``,
``blazepose+scale0.75``), its poses mapped back to the original frame. When only one model runs offline, its
augmented runs still disagree where the model is unsure, which is what SST-A aggregation needs."""

from __future__ import annotations

import re

import numpy as np

from ...errors import PosekitError
from ...layouts import Layout
from .base import Expert, FramePoses

AUGMENTATION = re.compile(r"flip|scale(?P<scale>\d*\.?\d+)")


def mirror_permutation(layout: Layout) -> np.ndarray:
    """Index of each joint's mirror image (left_wrist <-> right_wrist, mouth_left <-> mouth_right); itself if none."""

    def mirrored(name):
        return re.sub(r"left|right", lambda m: "right" if m.group() == "left" else "left", name)

    return np.array(
        [layout.joints.index(mirrored(j)) if mirrored(j) in layout.joints else i for i, j in enumerate(layout.joints)]
    )


class Augmented(Expert):
    """``base`` run on horizontally flipped (``flip``) and/or rescaled (``scale``) frames."""

    def __init__(self, base: Expert, name: str, flip: bool = False, scale: float = 1.0):
        if not 0.1 <= scale <= 4:
            raise PosekitError(f"expert {name!r}: scale {scale:g} outside 0.1..4")
        self.base, self.name, self.flip, self.scale = base, name, flip, scale
        self.layout, self.batch_size = base.layout, base.batch_size
        self._mirror = mirror_permutation(base.layout)

    def start(self, video, image_size):
        self.base.start(video, tuple(round(v * self.scale) for v in image_size))

    def predict(self, frames, indices):
        import cv2

        shown = []
        for frame in frames:
            if self.scale != 1.0:
                frame = cv2.resize(
                    frame,
                    None,
                    fx=self.scale,
                    fy=self.scale,
                    interpolation=cv2.INTER_AREA if self.scale < 1 else cv2.INTER_LINEAR,
                )
            shown.append(cv2.flip(frame, 1) if self.flip else frame)
        return [
            self._restore(poses.with_boxes(), image.shape[1])
            for poses, image in zip(self.base.predict(shown, indices), shown)
        ]

    def _restore(self, poses: FramePoses, width: int) -> FramePoses:
        """Poses found in an augmented frame of ``width`` pixels, in the original frame's coordinates."""
        keypoints, scores, boxes = poses.keypoints.copy(), poses.scores.copy(), poses.boxes.copy()
        if self.flip:
            keypoints[..., 0] = width - keypoints[..., 0]
            keypoints, scores = keypoints[:, self._mirror], scores[:, self._mirror]
            boxes[:, [0, 2]] = width - boxes[:, [2, 0]]
        return FramePoses(keypoints / self.scale, scores, boxes / self.scale)

    def close(self):
        self.base.close()
