"""The geometry of ``posekit synth views`` (pure numpy): new body proportions along a layout's bone tree, and
camera views of 3D joints projected to 2D.

Conventions: 3D joints are in a camera space with y up (Kinect, N-UCLA, NTU), x right, z away from the camera.
A view turns the body by ``yaw`` degrees about the vertical axis through a pivot (the body centre), then by
``pitch`` degrees about the camera's horizontal axis (positive: seen from above), and projects orthographically:
the 2D point is (x, -y) relative to the pivot, in the 3D units (metres), y pointing down as in images.
Orthographic, as the thesis's Mixamo renders (rotated 3D, projected 2D): a view changes the pose's shape, never its
size, so body size stays a property of the body alone.
"""

from __future__ import annotations

import numpy as np

from ..layouts import Layout

SIDES = ("left_", "right_")


def topological_order(layout: Layout) -> np.ndarray:
    """Joint indices with every parent before its children (roots first)."""
    parents = layout.parent_index
    depth = np.zeros(len(parents), int)
    for j in range(len(parents)):
        k = j
        while parents[k] != k:
            depth[j] += 1
            k = parents[k]
    return np.argsort(depth, kind="stable")


def bone_lengths(joints: np.ndarray, layout: Layout) -> np.ndarray:
    """(..., V) length of each joint's bone (joint minus parent); 0 for a root."""
    return np.linalg.norm(joints - joints[..., layout.parent_index, :], axis=-1)


def retarget_bones(joints: np.ndarray, layout: Layout, scales: np.ndarray) -> np.ndarray:
    """Joints (..., V, C) with each bone (joint minus parent) multiplied by ``scales`` (V,) of its child joint.

    Directions are kept and roots stay where they are; bones are rebuilt from the roots outwards, so a joint moves
    with every bone between it and its root. A missing (NaN) joint leaves its descendants missing."""
    joints = np.asarray(joints, np.float64)
    scales = np.asarray(scales, np.float64)
    parents = layout.parent_index
    out = joints.copy()
    for j in topological_order(layout):
        p = parents[j]
        if p != j:
            out[..., j, :] = out[..., p, :] + scales[j] * (joints[..., j, :] - joints[..., p, :])
    return out


def symmetric_groups(layout: Layout) -> np.ndarray:
    """(V,) group of each joint's bone: ``left_X`` and ``right_X`` share one group, so a body is symmetric."""
    keys = [
        name.removeprefix(SIDES[0]).removeprefix(SIDES[1]) if name.startswith(SIDES) else name for name in layout.joints
    ]
    return np.unique(keys, return_inverse=True)[1].reshape(-1)


def random_body_scales(layout: Layout, rng: np.random.Generator, low: float, high: float) -> np.ndarray:
    """(V,) bone scales drawn uniformly in [low, high], one draw per symmetric group; 1 for roots."""
    groups = symmetric_groups(layout)
    scales = rng.uniform(low, high, groups.max() + 1)[groups]
    roots = layout.parent_index == np.arange(layout.num_joints)
    scales[roots] = 1.0
    return scales


def rotation(yaw: float, pitch: float = 0.0) -> np.ndarray:
    """3x3 matrix turning y-up camera-space points by ``yaw`` degrees about y, then ``pitch`` degrees about x."""
    a, b = np.radians(yaw), np.radians(pitch)
    turn = np.array([[np.cos(a), 0.0, np.sin(a)], [0.0, 1.0, 0.0], [-np.sin(a), 0.0, np.cos(a)]])
    tilt = np.array([[1.0, 0.0, 0.0], [0.0, np.cos(b), np.sin(b)], [0.0, -np.sin(b), np.cos(b)]])
    return tilt @ turn


def project(joints: np.ndarray, yaw: float, pitch: float = 0.0, pivot=None) -> np.ndarray:
    """Orthographic 2D view (..., V, 2) of 3D joints (..., V, 3): turned about ``pivot`` (default the origin),
    x right and y down, relative to the pivot."""
    joints = np.asarray(joints, np.float64)
    pivot = np.zeros(3) if pivot is None else np.asarray(pivot, np.float64)
    turned = (joints - pivot) @ rotation(yaw, pitch).T
    return np.stack([turned[..., 0], -turned[..., 1]], axis=-1)
