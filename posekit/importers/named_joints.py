"""Helpers shared by the readers of files that name their body parts (DLC, SLEAP, NWB, npz, CSV): resolving the
layout, placing a file's joints into layout order, and keeping at most ``max_persons`` persons."""
from __future__ import annotations

import numpy as np

from ..errors import InputError
from ..layouts import Layout, chain_layout, get_layout
from ..store import Clip
from .base import fail


def resolve_layout(layout, name: str, joints=None, edges=()) -> Layout:
    """The --layout the user gave (name or file) when it names every joint found, else one built from the names.

    A given layout that lacks some of the file's joints is left to ``posekit convert``, which maps the file's
    layout onto it by name (interpolating where the target says how) and fails when no joint is shared."""
    if layout is not None:
        try:
            given = get_layout(layout)
        except (KeyError, ValueError, OSError) as e:
            raise InputError(str(e.args[0] if e.args else e)) from None
        if joints is None or set(joints) <= set(given.joints):
            return given
    if joints is None:
        raise InputError(f"{name}: no joint names in the file; give --layout")
    return chain_layout(name, joints, edges)


def joint_columns(joints, layout: Layout, path) -> np.ndarray:
    """Position in ``layout`` of each joint a file names; a name the layout lacks is an error naming it."""
    joints = list(joints)
    repeated = sorted({j for j in joints if joints.count(j) > 1})
    if repeated:
        raise fail(path, f"joint names repeated: {', '.join(repeated)}")
    unknown = [j for j in joints if j not in layout.joints]
    if unknown:
        raise fail(path, f"joints {', '.join(unknown)} are not in layout {layout.name!r} "
                         f"({', '.join(layout.joints)}); files with different joints need a --layout naming them all")
    return np.array([layout.joints.index(j) for j in joints], dtype=np.int64)


def make_clip(clip_id: str, keypoints, scores, *, joints, layout: Layout, path, track_id=None,
              max_persons: int | None = None, **fields) -> Clip:
    """A clip in layout order from (T, M, V, C) arrays whose V joints are named ``joints``.

    Layout joints the file lacks stay NaN. ``track_id`` defaults to the person slot; a slot with no valid
    joint in a frame gets -1 there."""
    keypoints = np.asarray(keypoints, np.float32)
    t, m, _, c = keypoints.shape
    columns = joint_columns(joints, layout, path)
    kp = np.full((t, m, layout.num_joints, c), np.nan, np.float32)
    kp[:, :, columns] = keypoints
    sc = None
    if scores is not None:
        sc = np.full((t, m, layout.num_joints), np.nan, np.float32)
        sc[:, :, columns] = scores
    track = np.broadcast_to(np.arange(m, dtype=np.int32), (t, m)) if track_id is None else np.asarray(track_id)
    kp, sc, track = keep_persons(kp, sc, track, max_persons)
    track = np.where(np.isnan(kp).all(axis=(2, 3)), -1, track).astype(np.int32)
    return Clip(id=clip_id, keypoints=kp, scores=sc, track_id=track, source=str(path), **fields)


def keep_persons(keypoints, scores, track_id, max_persons: int | None):
    """Keep the ``max_persons`` person slots with the most valid joints over the clip, in their original order."""
    if max_persons is None or keypoints.shape[1] <= max_persons:
        return keypoints, scores, track_id
    visible = (~np.isnan(keypoints).any(axis=-1)).sum(axis=(0, 2))
    keep = np.sort(np.argsort(-visible, kind="stable")[:max_persons])
    return keypoints[:, keep], None if scores is None else scores[:, keep], track_id[:, keep]
