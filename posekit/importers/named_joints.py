"""Helpers shared by the readers of files that name their body parts (DLC, SLEAP, NWB, npz, CSV): resolving the
layout, naming joints a file leaves unnamed, placing a file's joints into layout order, and keeping at most
``max_persons`` persons."""

from __future__ import annotations

import difflib
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..layouts import Layout, chain_layout, get_layout, mapping
from ..store import Clip
from .base import fail

LISTED = 6  # unknown joint names named in an error


def resolve_layout(layout, name: str, joints=None, edges=(), *, path=None) -> Layout:
    """The --layout the user gave (name or file) when it names every joint found, else one built from the names.

    A given layout that lacks some of the file's joints is left to ``posekit convert``, which maps the file's
    layout onto it by name (interpolating where the target says how) and fails when no joint is shared. A file
    joint the mapping cannot use while a layout joint stays empty is a misnamed joint (``left_shouldr``): an error
    naming it (``path``, else ``name``, says where) and the closest layout names."""
    if layout is not None:
        given = given_layout(layout)
        if joints is None or set(joints) <= set(given.joints):
            return given
        own = chain_layout(name, joints, edges)
        refuse_unknown_names(own, given, path or name, layout)
        return own
    if joints is None:
        raise InputError(f"{name}: no joint names in the file; give --layout")
    return chain_layout(name, joints, edges)


def given_layout(layout) -> Layout:
    """The layout named by --layout (a name or a file), a bad one a one-line error."""
    try:
        return get_layout(layout)
    except (KeyError, ValueError, OSError) as e:
        raise InputError(str(e.args[0] if e.args else e)) from None


def refuse_unknown_names(source: Layout, target: Layout, where, layout_arg) -> None:
    """Fail when ``source`` names joints that ``target`` neither has nor interpolates from while some of
    ``target``'s joints get nothing: those names are misspelt or another convention's, and the joints they were
    meant for would be silently empty. Extra joints of a source that fills the whole target are dropped as
    before, and a source sharing no joint at all is left to ``posekit convert``'s own error. ``layout_arg``: the
    --layout as given, for the command that lists it."""
    joint_map = mapping(source, target)
    used = {i for sources in joint_map.sources for i in sources}
    unknown = [joint for i, joint in enumerate(source.joints) if i not in used]
    empty = [joint for joint, matched in zip(target.joints, joint_map.matched) if not matched]
    if not unknown or not empty or not joint_map.matched.any():
        return
    hints = [f"{joint} ({_closest(joint, empty)})" for joint in unknown[:LISTED]]
    more = f" and {len(unknown) - LISTED} more" if len(unknown) > LISTED else ""
    raise InputError(
        f"{where}: joint names not in layout {target.name!r}: {', '.join(hints)}{more}; rename them "
        f"as the layout does (`posekit layouts {layout_arg}` lists its joints)"
    )


def _closest(joint: str, candidates: list[str]) -> str:
    close = difflib.get_close_matches(joint, candidates, n=2)
    return f"did you mean {' or '.join(close)}?" if close else "no close layout name"


def unnamed_joint_order(layout, joint_names=None, joint_order=None) -> list[str] | None:
    """The names of joints a file leaves unnamed, in the file's order, as the user gave them: ``-O
    joint_names=FILE`` (one name per line) or ``-O joint_order=layout`` (the --layout's own order); None when
    the user said nothing, for posekit never guesses an order."""
    if joint_names is not None and joint_order is not None:
        raise InputError("give -O joint_names=FILE or -O joint_order=layout, not both")
    if joint_names is not None:
        return read_joint_names(joint_names)
    if joint_order is None:
        return None
    if joint_order != "layout":
        raise InputError(f"-O joint_order={joint_order}: the one order to confirm is 'layout' (-O joint_order=layout)")
    if layout is None:
        raise InputError("-O joint_order=layout needs --layout, the layout whose order the joints are in")
    return list(given_layout(layout).joints)


def read_joint_names(path) -> list[str]:
    """Joint names from a text file, one per line in the order of the file's joints; blank lines are skipped."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such joint names file (-O joint_names=FILE: one name per line)")
    names = [line.strip() for line in path.read_text().splitlines() if line.strip()]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if not names or repeated:
        raise fail(path, f"joint names repeated: {', '.join(repeated)}" if repeated else "no joint names in it")
    return names


def joint_columns(joints, layout: Layout, path) -> np.ndarray:
    """Position in ``layout`` of each joint a file names; a name the layout lacks is an error naming it."""
    joints = list(joints)
    repeated = sorted({j for j in joints if joints.count(j) > 1})
    if repeated:
        raise fail(path, f"joint names repeated: {', '.join(repeated)}")
    unknown = [j for j in joints if j not in layout.joints]
    if unknown:
        raise fail(
            path,
            f"joints {', '.join(unknown)} are not in layout {layout.name!r} "
            f"({', '.join(layout.joints)}); files with different joints need a --layout naming them all",
        )
    return np.array([layout.joints.index(j) for j in joints], dtype=np.int64)


def make_clip(
    clip_id: str,
    keypoints,
    scores,
    *,
    joints,
    layout: Layout,
    path,
    track_id=None,
    max_persons: int | None = None,
    **fields,
) -> Clip:
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
