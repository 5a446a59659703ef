"""A tiny 3D store for the synth and motion-generator tests: Kinect-v1 stick figures swinging their arms."""

from __future__ import annotations

import numpy as np

from posekit.layouts import get_layout
from posekit.store import Clip, StoreWriter

LAYOUT = get_layout("kinect-v1-20")
# A standing figure in metres, y up, facing the camera 3 m away (Kinect v1 joint order).
STANDING = np.array(
    [
        [0, 0, 3],
        [0, 0.2, 3],
        [0, 0.5, 3],
        [0, 0.7, 3],  # hip centre, spine, shoulder centre, head
        [-0.2, 0.45, 3],
        [-0.2, 0.2, 3],
        [-0.2, 0.0, 3],
        [-0.2, -0.05, 3],  # left arm
        [0.2, 0.45, 3],
        [0.2, 0.2, 3],
        [0.2, 0.0, 3],
        [0.2, -0.05, 3],  # right arm
        [-0.1, -0.05, 3],
        [-0.1, -0.45, 3],
        [-0.1, -0.85, 3],
        [-0.1, -0.9, 2.9],  # left leg
        [0.1, -0.05, 3],
        [0.1, -0.45, 3],
        [0.1, -0.85, 3],
        [0.1, -0.9, 2.9],
    ]
)  # right leg
ARMS = {4: (5, 6, 7), 8: (9, 10, 11)}  # shoulder: the joints that swing about it


def swinging(frames: int, amplitude: float, speed: float, walk: float) -> np.ndarray:
    """(frames, 20, 3) joints: both arms swing forward and back about the shoulders, the body walks along x."""
    t = np.arange(frames)
    joints = np.repeat(STANDING[None], frames, axis=0).astype(np.float64)
    for sign, (shoulder, arm) in zip((1, -1), ARMS.items()):
        angle = sign * amplitude * np.sin(speed * t)
        rel = STANDING[list(arm)] - STANDING[shoulder]  # (3, 3)
        y = rel[None, :, 1] * np.cos(angle)[:, None]
        z = rel[None, :, 1] * np.sin(angle)[:, None]
        joints[:, list(arm), 0] = STANDING[shoulder, 0] + rel[None, :, 0]
        joints[:, list(arm), 1] = STANDING[shoulder, 1] + y
        joints[:, list(arm), 2] = STANDING[shoulder, 2] + z
    joints[..., 0] += walk * t[:, None]
    return joints


def write_tiny_store(path, motions: int = 4, frames: int = 40) -> None:
    """Motions of different amplitude, speed and walking pace; the last one is the test split."""
    with StoreWriter(path, LAYOUT, coord_dims=3, classes=["swing", "walk"], coordinates="metric") as writer:
        for k in range(motions):
            joints = swinging(frames, amplitude=0.4 + 0.2 * k, speed=0.2 + 0.1 * k, walk=0.01 * k)
            writer.add(
                Clip(
                    id=f"m{k}",
                    keypoints=joints[:, None].astype(np.float32),
                    label=k % 2,
                    splits=("test",) if k == motions - 1 else ("train",),
                )
            )
