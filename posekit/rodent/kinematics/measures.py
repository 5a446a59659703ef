"""Kinematics of one animal's track: body-centre position, velocity, speed, acceleration, heading, angular velocity,
path length, and distance and time moving per minute.

Positions are in the store's units (pixels for DLC / SLEAP files) with x right and y down; rates are per second,
from the frame rate. Derivatives are central differences (``numpy.gradient``, one-sided at the ends), so they are
exact on a track of constant velocity; a missing position makes its neighbours' derivatives missing too rather
than guessed. The heading is the angle of the vector tail -> head, ``atan2(dy, dx)`` in image coordinates (0 =
facing right, pi/2 = facing down the image), unwrapped over time so that turning keeps adding up.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from ...errors import PosekitError
from ...layouts import Layout

HEAD_NAMES = ("snout", "nose", "head")
TAIL_NAMES = ("tailbase", "tail_base", "tail base", "tailroot", "tail_root", "butt/proximal tail", "tail")


def joint_indices(layout: Layout, names, option: str) -> list[int]:
    """Indices of joints named on the command line; an unknown name is an error naming the option."""
    indices = []
    for name in names:
        if name not in layout.joints:
            raise PosekitError(
                f"{option} {name!r}: layout {layout.name!r} has no such joint; joints: {', '.join(layout.joints)}"
            )
        indices.append(layout.index(name))
    return indices


def guess_joint(layout: Layout, candidates) -> str | None:
    """The first joint whose lower-cased name is one of ``candidates`` (DLC / SLEAP naming habits), else None."""
    lowered = {j.lower(): j for j in layout.joints}
    return next((lowered[c] for c in candidates if c in lowered), None)


def body_centre(keypoints: np.ndarray, joints=None) -> np.ndarray:
    """(T, M, 2) body centre of each animal: :func:`rigid_centre` of the given joints (all joints by default)."""
    chosen = np.asarray(keypoints, np.float64)[..., :2]
    chosen = chosen if joints is None else chosen[:, :, list(joints)]
    return np.stack([rigid_centre(chosen[:, person]) for person in range(chosen.shape[1])], axis=1)


def rigid_centre(track: np.ndarray) -> np.ndarray:
    """(T, 2) mean of all the joints of a (T, V, 2) track in every frame, present or not, so that the centre does
    not jump when a joint appears or vanishes.

    A missing joint is placed where the body carries it: the track's median body shape (generalised Procrustes,
    rotation and translation) is fitted to the joints present, and the missing joint takes its own position in
    the body's frame from the nearest frames where it was seen (interpolated between them). A frame with all
    joints present gets their plain mean. The fit needs at least half the joints, and two: a frame with fewer,
    and joints never seen in such a frame, are left out (missing, not guessed)."""
    present = ~np.isnan(track).any(axis=-1)
    enough = present.sum(axis=1) >= _joints_needed(int(present.any(axis=0).sum()))
    if not enough.any():
        return np.full((len(track), 2), np.nan)
    seen = present[enough].any(axis=0)
    if seen.sum() == 1:  # one joint is its own centre
        return track[:, np.flatnonzero(seen)[0]]
    track, present = track[:, seen], present[:, seen] & enough[:, None]
    angle, shift = fit_shape(mean_shape(track, present), track, present)
    body = rotate(track - shift[:, None], -angle)  # each joint in the body's frame
    body = np.stack([_interpolate_missing(body[:, j], present[:, j]) for j in range(body.shape[1])], axis=1)
    placed = np.where(present[..., None], track, rotate(body, angle) + shift[:, None])
    centre = placed.mean(axis=1)
    centre[~enough] = np.nan
    return centre


def _joints_needed(joints: int) -> int:
    """Present joints a frame needs for the shape fit: half of them, and two to fix a rotation (one of one)."""
    return 1 if joints == 1 else max(2, -(-joints // 2))


def rotate(points: np.ndarray, angle) -> np.ndarray:
    """``points`` (..., V, 2) rotated by ``angle`` (radians; one per leading index) about the origin."""
    cos, sin = np.cos(angle)[..., None], np.sin(angle)[..., None]
    x, y = points[..., 0], points[..., 1]
    return np.stack([cos * x - sin * y, sin * x + cos * y], axis=-1)


def fit_shape(shape: np.ndarray, track: np.ndarray, present: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Least-squares rotation angle (T,) and translation (T, 2) taking ``shape`` (V, 2) onto the joints present
    in each frame of ``track`` (T, V, 2): 2-D Procrustes without scaling; NaN where a frame has no joint."""
    weight = present[..., None].astype(np.float64)
    count = weight.sum(axis=1)
    with np.errstate(invalid="ignore"):
        shape_mean = (weight * shape).sum(axis=1) / count
        track_mean = (weight * np.nan_to_num(track)).sum(axis=1) / count
    a = (shape - shape_mean[:, None]) * weight
    b = (np.nan_to_num(track) - track_mean[:, None]) * weight
    cross = (a[..., 0] * b[..., 1] - a[..., 1] * b[..., 0]).sum(axis=1)
    dot = (a * b).sum(axis=(1, 2))
    angle = np.arctan2(cross, dot)
    angle[count[:, 0] == 0] = np.nan
    return angle, track_mean - rotate(shape_mean[:, None], angle)[:, 0]


def mean_shape(track: np.ndarray, present: np.ndarray, rounds: int = 3) -> np.ndarray:
    """(V, 2) median body shape of a track, centred on its mean: start from the frame with the most joints, then
    align every frame to the shape and take each joint's median, ``rounds`` times (generalised Procrustes)."""
    fullest = int(present.sum(axis=1).argmax())
    shape = track[fullest] - np.nanmean(track[fullest], axis=0)
    for _ in range(rounds):
        known = present & ~np.isnan(shape[:, 0])  # a joint missing from the first shape joins after one round
        angle, shift = fit_shape(np.nan_to_num(shape), track, known)
        aligned = np.where(present[..., None], rotate(track - shift[:, None], -angle), np.nan)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # frames too sparse for the fit are all NaN
            shape = np.nanmedian(aligned, axis=0)
        shape -= np.nanmean(shape, axis=0)
    return shape


def _interpolate_missing(values: np.ndarray, present: np.ndarray) -> np.ndarray:
    """(T, 2) ``values`` with each frame where ``present`` is False filled linearly between the nearest present
    frames (held at the ends)."""
    frames = np.arange(len(values))
    return np.stack([np.interp(frames, frames[present], values[present, axis]) for axis in range(2)], axis=1)


def unwrap_valid(angles: np.ndarray) -> np.ndarray:
    """``numpy.unwrap`` across the valid values of a 1-D array, so that a gap does not reset the turn count."""
    out = np.array(angles, dtype=np.float64)
    valid = ~np.isnan(out)
    out[valid] = np.unwrap(out[valid])
    return out


def track_kinematics(
    centre: np.ndarray,
    fps: float,
    *,
    head: np.ndarray | None = None,
    tail: np.ndarray | None = None,
    moving_speed: float = 20.0,
) -> pd.DataFrame:
    """Per-frame kinematics of one track.

    ``centre`` (T, 2): body-centre positions; ``head`` and ``tail`` (T, 2): the points whose difference gives the
    heading (no heading columns without ``head``; ``tail`` defaults to the centre). ``moving_speed``: speed above
    which a frame counts as moving (units per second)."""
    dt = 1.0 / fps
    centre = np.asarray(centre, np.float64)
    velocity = np.gradient(centre, dt, axis=0) if len(centre) > 1 else np.full_like(centre, np.nan)
    velocity[np.isnan(centre)] = np.nan  # a central difference across a missing frame would be a guess
    acceleration = np.gradient(velocity, dt, axis=0) if len(centre) > 1 else np.full_like(centre, np.nan)
    speed = np.hypot(velocity[:, 0], velocity[:, 1])
    steps = np.hypot(*np.diff(centre, axis=0).T)
    table = {
        "time_s": np.arange(len(centre)) * dt,
        "x": centre[:, 0],
        "y": centre[:, 1],
        "vx": velocity[:, 0],
        "vy": velocity[:, 1],
        "speed": speed,
        "ax": acceleration[:, 0],
        "ay": acceleration[:, 1],
        "acceleration": np.hypot(acceleration[:, 0], acceleration[:, 1]),
        # steps into or out of a missing frame are unknown: they add nothing rather than a guess
        "path_length": np.concatenate(([0.0], np.cumsum(np.nan_to_num(steps)))),
    }
    if head is not None:
        vector = np.asarray(head, np.float64) - (centre if tail is None else np.asarray(tail, np.float64))
        heading = unwrap_valid(np.arctan2(vector[:, 1], vector[:, 0]))
        table["heading"] = heading
        table["angular_velocity"] = np.gradient(heading, dt) if len(heading) > 1 else np.full_like(heading, np.nan)
    table["moving"] = speed > moving_speed
    return pd.DataFrame(table)


def per_minute(frames: pd.DataFrame, fps: float) -> pd.DataFrame:
    """Distance travelled and seconds moving / still / unknown in each minute of a track's per-frame table."""
    minute = (frames["time_s"] // 60).astype(int)
    step = frames["path_length"].diff().fillna(0.0)
    known = frames["speed"].notna()
    grouped = pd.DataFrame(
        {
            "minute": minute,
            "distance": step,
            "moving_s": (frames["moving"] & known) / fps,
            "still_s": (~frames["moving"] & known) / fps,
            "unknown_s": (~known) / fps,
        }
    )
    return grouped.groupby("minute", as_index=False).sum()


def summary(frames: pd.DataFrame, fps: float) -> dict:
    """Totals of one track: duration, path length, mean speed, time moving and still."""
    known = frames["speed"].notna()
    return {
        "duration_s": len(frames) / fps,
        "path_length": float(frames["path_length"].iloc[-1]),
        "mean_speed": float(frames["speed"].mean()) if known.any() else float("nan"),
        "moving_s": float((frames["moving"] & known).sum() / fps),
        "still_s": float((~frames["moving"] & known).sum() / fps),
        "unknown_s": float((~known).sum() / fps),
    }
