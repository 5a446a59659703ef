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
    """(T, M, C) mean of the given joints (all joints by default) over those present in each frame."""
    chosen = keypoints if joints is None else keypoints[:, :, list(joints)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a frame with none of the joints is missing, silently
        return np.nanmean(chosen, axis=2)


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
