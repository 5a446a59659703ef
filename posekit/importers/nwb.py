"""NWB files with ndx-pose: one clip per PoseEstimation container, one person per container.

Joints are the PoseEstimationSeries, in the container's node order when it has one (``nodes`` in ndx-pose 0.1,
``skeleton.nodes`` from 0.2), else in the file's order; a prefix or suffix that every series name shares
(``mouse_nose``, ``mouse_tail`` ... -> ``nose``, ``tail``) is dropped. fps is the series' rate, or the median step
of their timestamps; ``frame_index`` counts frames at that rate from the first timestamp, so gaps stay gaps.
Clip id: the file stem, or ``<file stem>.<container name>`` when the file holds several containers.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np

from ..registry import IMPORTERS
from .base import ImportedDataset, expand, fail, guarded, iter_files
from .named_joints import make_clip, resolve_layout

SEPARATORS = "_-. "


@IMPORTERS.register_module("nwb", suffixes=(".nwb",))
def read_nwb(sources, *, layout=None, max_persons=None, fps=None) -> ImportedDataset:
    files = expand(sources, (".nwb",))
    first = guarded(files[0], lambda path: _with_containers(path, _describe))
    chosen = resolve_layout(layout, f"nwb-{files[0].stem}", first["joints"], first["edges"], path=files[0])

    def read_one(path):
        return _with_containers(path, lambda containers: list(_clips(path, containers, chosen, max_persons, fps)))

    return ImportedDataset(
        layout=chosen,
        clips=iter_files(files, read_one),
        coord_dims=first["coord_dims"],
        provenance={"source_format": "nwb", **first["provenance"]},
    )


def _with_containers(path, use):
    """Open an NWB file and hand its PoseEstimation containers (sorted by path) to ``use`` while it is open."""
    import pynwb  # slow to import: only when an NWB file is read

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # namespace-version chatter from files written by older ndx-pose
        try:
            io = pynwb.NWBHDF5IO(str(path), "r", load_namespaces=True)
        except (OSError, TypeError, ValueError) as e:
            raise fail(path, f"not a readable NWB file ({e})") from None
        with io:
            try:
                nwbfile = io.read()
            except (OSError, TypeError, ValueError, KeyError) as e:
                raise fail(path, f"not a readable NWB file ({e})") from None
            containers = sorted(
                (o for o in nwbfile.objects.values() if o.neurodata_type == "PoseEstimation"),
                key=lambda o: (o.parent.name if o.parent is not None else "", o.name),
            )
            if not containers:
                raise fail(path, "no ndx-pose PoseEstimation in this NWB file")
            return use(containers)


def _describe(containers) -> dict:
    container = containers[0]
    names, series, edges = _skeleton(container)
    joints = strip_common(names)
    provenance = {k: str(v) for k, v in (("software", container.source_software), ("scorer", container.scorer)) if v}
    return {
        "joints": joints,
        "edges": [(joints[a], joints[b]) for a, b in edges],
        "provenance": provenance,
        "coord_dims": int(series[0].data.shape[1]),
    }


def _skeleton(container):
    """Series names, the series in that order, and edges as index pairs (only when the nodes name the series)."""
    series = dict(container.pose_estimation_series)
    skeleton = getattr(container, "skeleton", None)
    nodes, edges = getattr(container, "nodes", None), getattr(container, "edges", None)
    if nodes is None and skeleton is not None:
        nodes, edges = skeleton.nodes, skeleton.edges
    names = [v.decode() if isinstance(v, bytes) else str(v) for v in nodes[:]] if nodes is not None else []
    if sorted(names) != sorted(series):  # no nodes, or nodes that do not name the series: the file's order
        return list(series), list(series.values()), []
    pairs = [] if edges is None else [(int(a), int(b)) for a, b in np.asarray(edges[:])]
    return names, [series[n] for n in names], [(a, b) for a, b in pairs if max(a, b) < len(names)]


def strip_common(names: list[str]) -> list[str]:
    """Drop a separator-delimited prefix and suffix shared by all of at least three names."""
    if len(names) < 3:
        return list(names)
    words = [re.split(f"([{re.escape(SEPARATORS)}])", n) for n in names]
    start = 0
    while all(
        len(w) > start + 2 and w[start] == words[0][start] and w[start + 1] == words[0][start + 1] for w in words
    ):
        start += 2
    end = 0
    while all(
        len(w) - start > end + 2 and w[-1 - end] == words[0][-1 - end] and w[-2 - end] == words[0][-2 - end]
        for w in words
    ):
        end += 2
    stripped = ["".join(w[start : len(w) - end]) for w in words]
    return stripped if len(set(stripped)) == len(stripped) else list(names)


def _clips(path: Path, containers, layout, max_persons, fps):
    for container in containers:
        names, series, _ = _skeleton(container)
        lengths = {s.data.shape[0] for s in series}
        if len(lengths) != 1:
            raise fail(path, f"{container.name}: series of different lengths {sorted(lengths)}")
        kp = np.stack([s.data[:] for s in series], axis=1)[:, None]  # (T, 1, V, C)
        scores = np.stack(
            [s.confidence[:] if s.confidence is not None else np.full(len(kp), np.nan) for s in series], axis=1
        )[:, None]
        rate, frame_index = _timing(path, container.name, series[0])
        clip_id = path.stem if len(containers) == 1 else f"{path.stem}.{container.name}"
        yield make_clip(
            clip_id,
            kp,
            scores,
            joints=strip_common(names),
            layout=layout,
            path=path,
            max_persons=max_persons,
            frame_index=frame_index,
            fps=float(rate if fps is None else fps),
        )


def _timing(path, name, series) -> tuple[float, np.ndarray]:
    """The file's frame rate and each row's frame number counted at that rate."""
    count = series.data.shape[0]
    if series.rate is not None:
        return float(series.rate), np.arange(count)
    times = np.asarray(series.timestamps[:], np.float64)
    steps = np.diff(times)
    if len(times) < 2:
        return float("nan"), np.arange(count)
    if (steps <= 0).any():
        raise fail(path, f"{name}: timestamps do not increase")
    rate = 1.0 / float(np.median(steps))
    return rate, np.rint((times - times[0]) * rate).astype(np.int64)
