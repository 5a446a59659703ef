"""SLEAP labels (.slp, also SLP files named .h5) and SLEAP analysis HDF5 (``*.analysis.h5``).

One clip per video of a labels file (id = file stem, or ``<file stem>.<video stem>`` when the file has several
videos); an analysis file is one clip (id = file stem). The clip keeps the file's track names (``track_names``,
"female", "male") and takes fps and image size from its video when the video is found: at the path the file
records, or, for a project that moved, at the end of that path below the labels file's folder or the folder
above it (``tests/data/videos/dance.mp4`` -> ``<labels folder>/../videos/dance.mp4``); an embedded video's
recorded frame shape gives the image size. ``--fps`` overrides the video's frame rate.
A clip spans the first to the last labelled frame; frames in between without labels are NaN rows, so
``frame_index`` is the video frame of every row.
Persons are the tracks (track_id = index of the track in the file); instances without a track follow them, in
their order in each frame, so they carry no identity across frames. Where a user instance and a prediction
describe the same animal (the user corrected it: same track, or ``from_predicted``), the user instance is kept
with scores 1; other predictions keep their point scores.
"""

from __future__ import annotations

from pathlib import Path, PureWindowsPath

import h5py
import numpy as np
import sleap_io

from ..errors import InputError
from ..registry import IMPORTERS
from ..video import VideoReader
from .base import ImportedDataset, expand, fail, first_then_rest, guarded, iter_files
from .named_joints import make_clip, resolve_layout

SUFFIXES = (".slp", ".h5")


@IMPORTERS.register_module("sleap", suffixes=SUFFIXES)
def read_sleap(sources, *, layout=None, max_persons=None, fps=None) -> ImportedDataset:
    files = expand(sources, SUFFIXES)
    first = guarded(files[0], _load)
    nodes, edges = _skeleton(files[0], first)
    chosen = resolve_layout(layout, f"sleap-{files[0].stem.split('.')[0]}", nodes, edges, path=files[0])
    load = first_then_rest(files[0], first, _load)

    def read_one(path):
        source = load(path)
        if isinstance(source, dict):
            yield _analysis_clip(path, source, chosen, max_persons, fps)
        else:
            yield from _labels_clips(path, source, chosen, max_persons, fps)

    return ImportedDataset(
        layout=chosen, clips=iter_files(files, read_one), coord_dims=2, provenance={"source_format": "sleap"}
    )


def _load(path):
    """sleap_io Labels for an SLP file; the arrays of an analysis file as a dict."""
    try:
        with h5py.File(path, "r") as f:
            if "tracks" in f and "node_names" in f:
                return {
                    key: f[key][()]
                    for key in (
                        "tracks",
                        "track_occupancy",
                        "point_scores",
                        "node_names",
                        "edge_names",
                        "track_names",
                        "video_path",
                    )
                    if key in f
                }
            if not {"frames", "instances", "metadata"} <= set(f):
                raise fail(
                    path, f"not a SLEAP file (neither labels nor analysis HDF5; holds {', '.join(f) or 'nothing'})"
                )
            if "format_id" not in f["metadata"].attrs:
                raise fail(
                    path,
                    "SLEAP labels in the old layout without a format_id, which sleap-io cannot read; "
                    "open and save it again in SLEAP",
                )
    except OSError as e:
        raise fail(path, f"not an HDF5 file ({e})") from None
    return sleap_io.load_slp(str(path), open_videos=False)


def _skeleton(path, source) -> tuple[list[str], list[tuple[str, str]]]:
    if isinstance(source, dict):
        names = [_text(n) for n in source["node_names"]]
        edges = [tuple(_text(n) for n in pair) for pair in source.get("edge_names", [])]
        return names, edges
    if not source.skeletons:
        raise fail(path, "no skeleton")
    skeleton = source.skeletons[0]
    return list(skeleton.node_names), [(a.name, b.name) for a, b in skeleton.edges]


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _labels_clips(path: Path, labels, layout, max_persons, fps):
    if not labels.skeletons:
        raise fail(path, "no skeleton")
    frames_of = {id(v): [] for v in labels.videos}
    for lf in labels.labeled_frames:
        frames_of[id(lf.video)].append(lf)
    stems = [Path(_video_filename(v)).stem for v in labels.videos]
    for number, video in enumerate(labels.videos):
        frames = frames_of[id(video)]
        if not frames:
            continue
        clip_id = path.stem if len(labels.videos) == 1 else f"{path.stem}.{stems[number]}"
        if stems.count(stems[number]) > 1:
            clip_id = f"{clip_id}.{number}"
        clip = _frames_clip(path, clip_id, labels, frames, layout, max_persons)
        clip.fps, clip.image_size = _video_facts(path, _video_filename(video), video.backend_metadata, fps)
        yield clip


def _video_filename(video) -> str:
    """The video's recorded path (an image sequence records a list of files: its first)."""
    return video.filename if isinstance(video.filename, str) else video.filename[0]


def _video_facts(path: Path, recorded: str, metadata: dict, fps) -> tuple[float, tuple[int, int]]:
    """(fps, (width, height)) of a clip's video: from the video file when found and OpenCV opens it, else an
    embedded video's recorded frame shape (frames, height, width, channels); NaN and (0, 0) where neither says:
    the labels convert all the same. ``fps`` (the user's --fps) wins over the video's."""
    found = find_video(path, recorded)
    if found is not None:
        try:
            with VideoReader(found) as video:
                return (video.fps if fps is None else float(fps)), video.image_size
        except InputError:  # a video OpenCV cannot open: its facts stay unknown
            pass
    shape = metadata.get("shape")
    size = (int(shape[2]), int(shape[1])) if shape is not None and len(shape) == 4 else (0, 0)
    return float(np.nan if fps is None else fps), size


def find_video(labels_path: Path, recorded: str) -> Path | None:
    """The video a SLEAP file records as ``recorded``: there when the path is absolute, else the longest end of
    that path found below the labels file's folder or the folder above it (a project copied elsewhere, or made on
    Windows)."""
    if not recorded:
        return None
    recorded_path = PureWindowsPath(recorded)  # splits at both separators, whichever system wrote the file
    parts = recorded_path.parts[1:] if recorded_path.anchor else recorded_path.parts
    ends = [Path(*parts[first:]) for first in range(len(parts))]
    bases = (labels_path.parent, labels_path.parent.parent)
    candidates = [Path(recorded)] if Path(recorded).is_absolute() else []
    candidates += [base / end for end in ends for base in bases]
    return next((candidate for candidate in candidates if candidate.is_file()), None)


def _frames_clip(path, clip_id, labels, frames, layout, max_persons):
    first = min(lf.frame_idx for lf in frames)
    length = max(lf.frame_idx for lf in frames) - first + 1
    chosen = [lf.user_instances + lf.unused_predictions for lf in frames]
    tracked = [t for t in labels.tracks if any(inst.track is t for insts in chosen for inst in insts)]
    slot_of = {id(t): k for k, t in enumerate(tracked)}
    untracked = max([sum(inst.track is None for inst in insts) for insts in chosen] + [0])
    persons = len(tracked) + untracked
    nodes = list(labels.skeletons[0].node_names)
    kp = np.full((length, persons, len(nodes), 2), np.nan, np.float32)
    scores = np.full(kp.shape[:3], np.nan, np.float32)
    track = np.tile(np.arange(persons, dtype=np.int32), (length, 1))
    track[:, : len(tracked)] = [labels.tracks.index(t) for t in tracked]
    track[:, len(tracked) :] += len(labels.tracks) - len(tracked)  # untracked ids follow the file's tracks
    for lf, insts in zip(frames, chosen):
        row, extra = lf.frame_idx - first, len(tracked)
        for inst in insts:
            if inst.track is None:
                slot, extra = extra, extra + 1
            else:
                slot = slot_of[id(inst.track)]
            columns = [nodes.index(n) for n in inst.skeleton.node_names]
            if isinstance(inst, sleap_io.PredictedInstance):  # its points carry scores
                points = inst.numpy(scores=True)
                kp[row, slot, columns], scores[row, slot, columns] = points[:, :2], points[:, 2]
            else:  # a user instance is certain where labelled
                kp[row, slot, columns] = inst.numpy()
                scores[row, slot, columns] = np.where(np.isnan(kp[row, slot, columns, 0]), np.nan, 1.0)
    return make_clip(
        clip_id,
        kp,
        scores,
        joints=nodes,
        layout=layout,
        path=path,
        track_id=track,
        max_persons=max_persons,
        frame_index=np.arange(first, first + length),
        track_names=tuple(t.name for t in labels.tracks),
    )


def _analysis_clip(path, arrays, layout, max_persons, fps):
    """Analysis arrays are stored transposed for MATLAB: tracks (tracks, 2, nodes, frames) on disk."""
    nodes = [_text(n) for n in arrays["node_names"]]
    tracks = arrays["tracks"]
    if tracks.ndim != 4 or tracks.shape[1] != 2 or tracks.shape[2] != len(nodes):
        raise fail(path, f"tracks has shape {tracks.shape}, expected (tracks, 2, {len(nodes)} nodes, frames)")
    kp = tracks.transpose(3, 0, 2, 1)  # (frames, tracks, nodes, 2)
    scores = arrays["point_scores"].transpose(2, 0, 1) if "point_scores" in arrays else None
    occupied = arrays["track_occupancy"].astype(bool) if "track_occupancy" in arrays else ~np.isnan(kp).all(axis=(2, 3))
    if occupied.shape != kp.shape[:2]:
        raise fail(path, f"track_occupancy has shape {occupied.shape}, expected (frames, tracks) {kp.shape[:2]}")
    kp = np.where(occupied[:, :, None, None], kp, np.nan)
    labelled = np.flatnonzero(occupied.any(axis=1))
    if not len(labelled):
        raise fail(path, "no occupied track in any frame")
    rows = slice(labelled[0], labelled[-1] + 1)
    fps, image_size = _video_facts(path, _text(arrays.get("video_path", b"")), {}, fps)
    track_names = [_text(n) for n in arrays.get("track_names", [])]  # slot k is track k of the file
    return make_clip(
        path.stem,
        kp[rows],
        None if scores is None else scores[rows],
        joints=nodes,
        layout=layout,
        path=path,
        max_persons=max_persons,
        frame_index=np.arange(labelled[0], labelled[-1] + 1),
        fps=fps,
        image_size=image_size,
        track_names=tuple(track_names),
    )
