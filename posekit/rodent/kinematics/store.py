"""``posekit rodent kinematics`` on a store: clean every clip's keypoints, write them as a new store, and write the
kinematics of every animal (person slot) as tables and a figure.

Outputs for ``-o OUT``: ``OUT.h5`` (the cleaned store: same clips, layout and labels, provenance records the
cleaning), ``OUT_kinematics.csv`` (one row per frame and animal), ``OUT_per_minute.csv``, ``OUT_summary.csv``
(or the three tables in one ``OUT_kinematics.h5`` with ``table_format='hdf5'``) and ``OUT.png``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ...errors import PosekitError
from ...progress import progress_bar
from ...store import SkeletonStore, StoreWriter, atomic_path
from . import filtering
from .measures import (
    HEAD_NAMES,
    TAIL_NAMES,
    body_centre,
    guess_joint,
    joint_indices,
    per_minute,
    summary,
    track_kinematics,
)
from .plot import kinematics_png


@dataclass
class Options:
    min_confidence: float | None = None
    max_gap: int = 0
    smoother: str = "savgol"
    window: int = 7
    body_centre: tuple[str, ...] = ()  # joints whose mean is the body centre (measures.rigid_centre); all when empty
    head: str | None = None  # heading = head - tail; guessed from joint names when None
    tail: str | None = None
    fps: float | None = None  # overrides the store's frame rate
    moving_speed: float = 20.0
    table_format: str = "csv"


def outputs(prefix: str | Path, table_format: str = "csv") -> dict[str, Path]:
    """The files written for ``-o prefix`` (a trailing .h5 is dropped)."""
    prefix = Path(prefix)
    if prefix.suffix == ".h5":
        prefix = prefix.with_suffix("")
    stem = prefix.name
    paths = {"store": prefix.with_name(f"{stem}.h5"), "figure": prefix.with_name(f"{stem}.png")}
    if table_format == "hdf5":
        paths["tables"] = prefix.with_name(f"{stem}_kinematics.h5")
    else:
        paths.update({name: prefix.with_name(f"{stem}_{name}.csv") for name in ("kinematics", "per_minute", "summary")})
    return paths


def run(
    store_path: str | Path,
    prefix: str | Path,
    options: Options,
    *,
    source: str | Path | None = None,
    progress: bool = True,
) -> dict:
    """Clean and measure every clip of a store; returns the output paths, the joints used and totals.
    ``source``: the file the store was converted from, named in errors and provenance instead of the store."""
    source = source or store_path
    paths = outputs(prefix, options.table_format)
    store = SkeletonStore(store_path)
    if paths["store"].resolve() == store.path.resolve():
        raise PosekitError(f"{paths['store']}: the cleaned store must be a new file, not the input; choose another -o")
    layout = store.layout
    centre_joints = joint_indices(layout, options.body_centre, "--body-centre") if options.body_centre else None
    head = options.head or guess_joint(layout, HEAD_NAMES)
    tail = options.tail or guess_joint(layout, TAIL_NAMES)
    head_index = joint_indices(layout, [head], "--head")[0] if head else None
    tail_index = joint_indices(layout, [tail], "--tail")[0] if tail else None
    frames, minutes, totals, figure_tracks = [], [], [], []
    counts = {"removed": 0, "filled": 0, "missing": 0, "total": 0}
    provenance = {
        "step": "rodent-kinematics-clean",
        "source": str(source),
        "min_confidence": options.min_confidence,
        "max_gap": options.max_gap,
        "smoother": options.smoother,
        "window": options.window,
        "source_provenance": store.provenance,
    }  # the source's history travels with the cleaned store
    with StoreWriter(
        paths["store"],
        layout,
        coord_dims=store.coord_dims,
        classes=store.classes,
        class_descriptions=store.class_descriptions,
        name=store.name,
        coordinates=store.coordinates,
        provenance=provenance,
        allow_empty=True,
    ) as writer:  # a clip cleaned to nothing stays
        for clip in progress_bar(store, total=len(store), desc="kinematics", unit="clip", show=progress, leave=False):
            fps = options.fps or clip.fps
            if not fps or math.isnan(fps):
                raise PosekitError(f"{source}: clip {clip.id!r} has no frame rate; give it with --fps")
            clip.keypoints, clip_counts = filtering.clean(
                clip.keypoints,
                clip.scores,
                min_confidence=options.min_confidence,
                max_gap=options.max_gap,
                smoother=options.smoother,
                window=options.window,
            )
            counts = {k: counts[k] + clip_counts[k] for k in counts}
            clip.fps = fps
            writer.add(clip)
            xy = clip.keypoints[..., :2]
            centres = body_centre(xy, centre_joints)
            for person in range(xy.shape[1]):
                if np.isnan(centres[:, person]).all():
                    continue
                table = track_kinematics(
                    centres[:, person],
                    fps,
                    moving_speed=options.moving_speed,
                    head=xy[:, person, head_index] if head_index is not None else None,
                    tail=xy[:, person, tail_index] if tail_index is not None else None,
                )
                keys = {"clip": clip.id, "individual": person, "track": _individual_name(clip, person)}
                frames.append(table.assign(**keys, frame_index=clip.frame_index))
                minutes.append(per_minute(table, fps).assign(**keys))
                totals.append({**keys, **summary(table, fps)})
                figure_tracks.append((f"{clip.id} {keys['track']}", table))
        # Inside the writer's block: if anything below fails, the cleaned store is not written either.
        if not frames:
            raise PosekitError(f"{source}: no animal has a body centre in any frame after cleaning")
        tables = {
            "kinematics": _leading(pd.concat(frames, ignore_index=True), "clip", "individual", "frame_index"),
            "per_minute": _leading(pd.concat(minutes, ignore_index=True), "clip", "individual"),
            "summary": pd.DataFrame(totals),
        }
        units = "px" if store.coordinates == "pixel" else store.coordinates
        kinematics_png(figure_tracks, paths["figure"], moving_speed=options.moving_speed, units=units)
        _write_tables(tables, paths)
    store.close()
    return {
        "paths": paths,
        "head": head,
        "tail": tail or ("body centre" if head else None),
        "body_centre": list(options.body_centre) or "all joints",  # missing ones placed by the body-shape fit
        "tracks": len(totals),
        **counts,
        "summary": tables["summary"],
    }


def _leading(table: pd.DataFrame, *columns: str) -> pd.DataFrame:
    return table[list(columns) + [c for c in table.columns if c not in columns]]


def _write_tables(tables: dict[str, pd.DataFrame], paths: dict[str, Path]) -> None:
    if "tables" in paths:
        with atomic_path(paths["tables"]) as tmp:
            for key, table in tables.items():
                table.to_hdf(tmp, key=key, mode="a", format="table")
        return
    for key, table in tables.items():
        with atomic_path(paths[key]) as tmp:
            table.to_csv(tmp, index=False, float_format="%.6g")


def _individual_name(clip, person: int) -> str:
    """The name of the track in person slot ``person`` where the source named it (SLEAP's "female"), else the
    slot: "#0". A slot holds one track through a clip (the importers keep tracks in their slots)."""
    ids = clip.track_id[:, person] if clip.track_id is not None else ()
    track = next((int(t) for t in ids if t >= 0), None)
    named = track is not None and track < len(clip.track_names) and clip.track_names[track]
    return clip.track_names[track] if named else f"#{person}"
