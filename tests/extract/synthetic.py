"""Synthetic inputs for the extract tests: stick figures drawn into small videos, and the poses an estimator
would have written for them (mmpose inferencer JSON, AlphaPose JSON, OpenPose per-frame JSON)."""

from __future__ import annotations

import json

import numpy as np

# COCO-17 joint offsets of a standing figure, in units of its height, centred on the hips.
COCO_TEMPLATE = np.array(
    [
        [0, -0.45],
        [0.03, -0.47],
        [-0.03, -0.47],
        [0.06, -0.45],
        [-0.06, -0.45],  # nose, eyes, ears
        [0.15, -0.30],
        [-0.15, -0.30],
        [0.20, -0.10],
        [-0.20, -0.10],
        [0.22, 0.05],
        [-0.22, 0.05],  # arms
        [0.10, 0.05],
        [-0.10, 0.05],
        [0.10, 0.25],
        [-0.10, 0.25],
        [0.10, 0.45],
        [-0.10, 0.45],
    ],
    np.float32,
)
BONES = [
    (5, 7),
    (7, 9),
    (6, 8),
    (8, 10),
    (5, 6),
    (11, 12),
    (5, 11),
    (6, 12),
    (11, 13),
    (13, 15),
    (12, 14),
    (14, 16),
    (0, 5),
    (0, 6),
]


def figure(centre, height) -> np.ndarray:
    """(17, 2) COCO keypoints of a figure of ``height`` pixels centred at ``centre``."""
    return np.asarray(centre, np.float32) + COCO_TEMPLATE * height


def crossing(frames: int = 24, width: int = 320):
    """Two figures walking towards each other and crossing mid-clip: (frames, 2, 17, 2); person 0 goes right."""
    t = np.linspace(0, 1, frames)[:, None]
    a = 40 + (width - 80) * t
    b = width - 40 - (width - 80) * t
    return np.stack(
        [np.stack([figure((x, 120), 100) for x in a[:, 0]]), np.stack([figure((x, 125), 90) for x in b[:, 0]])], axis=1
    )


def write_video(path, poses: np.ndarray, size=(320, 240), fps: float = 25.0):
    """A video of the figures in ``poses`` (frames, persons, 17, 2), NaN persons not drawn."""
    import cv2

    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, size)
    assert writer.isOpened()
    for frame_poses in poses:
        image = np.full((size[1], size[0], 3), 90, np.uint8)
        for person in frame_poses:
            if np.isnan(person).any():
                continue
            for a, b in BONES:
                cv2.line(image, tuple(int(v) for v in person[a]), tuple(int(v) for v in person[b]), (255, 255, 255), 3)
        writer.write(image)
    writer.release()
    return path


def blank_video(path, frames: int = 8, size=(160, 120)):
    return write_video(path, np.full((frames, 0, 17, 2), np.nan), size)


def write_mmpose_json(path, poses: np.ndarray, order=None, noise: float = 0.0, seed: int = 0):
    """mmpose inferencer predictions for ``poses`` (frames, persons, 17, 2); persons listed in ``order(frame)``
    (e.g. shuffled, as an estimator lists them) and jittered by ``noise`` pixels."""
    rng = np.random.default_rng(seed)
    items = []
    for f, frame_poses in enumerate(poses):
        instances = []
        for p in order(f) if order else range(len(frame_poses)):
            if np.isnan(frame_poses[p]).any():
                continue
            xy = frame_poses[p] + rng.normal(0, noise, frame_poses[p].shape) if noise else frame_poses[p]
            instances.append(
                {
                    "keypoints": xy.tolist(),
                    "keypoint_scores": [0.9] * len(xy),
                    "bbox": [[*xy.min(axis=0).tolist(), *xy.max(axis=0).tolist()]],
                    "bbox_score": 0.9,
                }
            )
        items.append({"frame_id": f, "instances": instances})
    path.write_text(json.dumps(items))
    return path


def write_alphapose_json(path, poses: np.ndarray, order=None):
    """AlphaPose results for ``poses``: one entry per person and frame, image ids "<frame>.jpg"."""
    items = []
    for f, frame_poses in enumerate(poses):
        for p in order(f) if order else range(len(frame_poses)):
            if np.isnan(frame_poses[p]).any():
                continue
            xy = frame_poses[p]
            x1, y1 = xy.min(axis=0)
            x2, y2 = xy.max(axis=0)
            items.append(
                {
                    "image_id": f"{f}.jpg",
                    "category_id": 1,
                    "score": 2.5,
                    "idx": [int(p)],
                    "keypoints": np.concatenate([xy, np.full((len(xy), 1), 0.8)], axis=1).ravel().tolist(),
                    "box": [float(x1), float(y1), float(x2 - x1), float(y2 - y1)],
                }
            )
    path.write_text(json.dumps(items))
    return path
