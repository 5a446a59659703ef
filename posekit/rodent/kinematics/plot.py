"""The kinematics figure: each track's trajectory coloured by speed, beside its speed over time."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ...plots import _pyplot
from ...store import atomic_path

MAX_ROWS = 6  # tracks drawn; a figure with more rows is unreadable, the tables hold them all


def kinematics_png(
    tracks: list[tuple[str, pd.DataFrame]], path: str | Path, *, moving_speed: float, units: str = "px"
) -> Path:
    """One row per (title, per-frame table) of :func:`posekit.rodent.kinematics.measures.track_kinematics`."""
    from matplotlib.collections import LineCollection

    plt = _pyplot()
    shown = tracks[:MAX_ROWS]
    fig, axes = plt.subplots(
        len(shown), 2, figsize=(12, 4.2 * len(shown)), squeeze=False, gridspec_kw={"width_ratios": [1, 1.6]}
    )
    speeds = np.concatenate([t["speed"].to_numpy() for _, t in shown])
    speeds = speeds[np.isfinite(speeds)]  # a one-frame track has no speed at all
    top = (np.percentile(speeds, 99) if len(speeds) else 0.0) or 1.0
    for (title, table), (left, right) in zip(shown, axes):
        title = title if len(title) <= 40 else f"{title[:18]}...{title[-19:]}"
        xy = table[["x", "y"]].to_numpy()
        segments = np.stack([xy[:-1], xy[1:]], axis=1)
        lines = LineCollection(segments, cmap="viridis", linewidths=1.2)
        lines.set_array(table["speed"].to_numpy()[1:])
        lines.set_clim(0, top)
        left.add_collection(lines)
        left.set_xlim(np.nanmin(xy[:, 0]) - 5, np.nanmax(xy[:, 0]) + 5)
        left.set_ylim(np.nanmax(xy[:, 1]) + 5, np.nanmin(xy[:, 1]) - 5)  # image coordinates: y down
        left.set_aspect("equal")
        left.set_title(f"{title}: body-centre trajectory", fontsize=9)
        left.set_xlabel(f"x ({units})")
        left.set_ylabel(f"y ({units})")
        fig.colorbar(lines, ax=left, label=f"speed ({units}/s)", shrink=0.8)
        right.plot(table["time_s"], table["speed"], lw=0.6, color="tab:blue")
        right.axhline(moving_speed, color="tab:red", lw=0.8, ls="--", label=f"moving above {moving_speed:g}")
        right.set_ylim(0, top * 1.05)
        right.set_xlabel("time (s)")
        right.set_ylabel(f"speed ({units}/s)")
        right.set_title(f"{title}: speed, path length {table['path_length'].iloc[-1]:.0f} {units}", fontsize=9)
        right.legend(loc="upper right", fontsize=8)
    if len(tracks) > len(shown):
        fig.suptitle(f"first {len(shown)} of {len(tracks)} tracks (all are in the tables)", fontsize=9)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)
    return Path(path)
