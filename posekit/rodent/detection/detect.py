"""``posekit rodent detect``: videos or image folders -> a store of tracked animals (centre, head, tail base, box).

Without a trained detector: sample frames of every input, find the moving animal by motion (motion.py), train
the FCN on it and bootstrap it on its own detections (bootstrap.py), save it. Then run the detector on every
frame, track (track.py), orient the body axis (heading.py) and write one clip per input (posekit store,
layout ``rodent-detector``; data_schemas/rodent_tracks.md).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from ...errors import InputError, PosekitError
from ...progress import progress_bar
from ...store import Clip, StoreWriter
from .blobs import Blob
from .detector import Detector
from .frames import Source, grey_frames, open_sources
from .heading import orient
from .motion import flow_magnitude, motion_labels
from .track import body_length, track

LAYOUT = "rodent-detector"


def detector_path(output: str | Path) -> Path:
    """Where ``-o TRACKS.h5`` saves its detector: TRACKS.detector.pth beside it."""
    output = Path(output)
    return output.with_name(output.stem + ".detector.pth")


def sample(source: Source, size: int, max_frames: int) -> tuple[np.ndarray, np.ndarray]:
    """Every k-th work frame (at most ``max_frames``) and the optical-flow speed into it from its predecessor."""
    step = max(1, math.ceil(source.num_frames / max_frames))
    frames, speeds, previous = [], [], None
    for index, grey in progress_bar(
        grey_frames(source, size),
        total=source.num_frames,
        unit="frame",
        desc=f"sampling {source.path.name}",
        leave=False,
    ):
        if index % step == 0:
            frames.append(grey)
            speeds.append(flow_magnitude(previous, grey) if previous is not None else np.zeros(grey.shape, np.float32))
        previous = grey
    return np.stack(frames), np.stack(speeds)


def fit_detector(
    sources: list[Source],
    *,
    size: int = 160,
    rounds: int = 2,
    iters: int = 300,
    max_animals: int = 1,
    width: int = 16,
    device: str = "cpu",
    max_train_frames: int = 400,
    after_round=None,
) -> Detector:
    """Motion pseudo-labels on sampled frames of every source, then the FCN and its bootstrapping rounds."""
    from .bootstrap import fit

    clips, motion = [], []
    for source in sources:
        frames, speeds = sample(source, size, max(max_train_frames // len(sources), 1))
        clips.append(frames)
        motion.append(motion_labels(frames, speeds, max_animals))
    labelled = [sum(1 for blobs in labels if blobs) for labels in motion]
    if not any(labelled):
        raise InputError(
            f"{', '.join(str(s.path) for s in sources)}: no moving animal found to learn from; "
            "give a detector trained elsewhere with --model"
        )
    detector = fit(
        clips,
        motion,
        rounds=rounds,
        iters=iters,
        max_animals=max_animals,
        width=width,
        device=device,
        after_round=after_round,
    )
    detector.meta.update(
        trained_on=[str(s.path) for s in sources],
        sampled_frames=[len(c) for c in clips],
        motion_labels=labelled,
        iters=iters,
    )
    return detector


def detect_clip(
    detector: Detector, source: Source, clip_id: str, *, max_animals: int = 1, device: str = "cpu", batch_size: int = 64
) -> Clip:
    """Detect, track and orient the animals of one source; coordinates in the source's pixels."""
    candidates, batch = [], []
    frames = progress_bar(
        grey_frames(source, detector.size),
        total=source.num_frames,
        unit="frame",
        desc=f"detecting {source.path.name}",
        leave=False,
    )
    for _, grey in frames:
        batch.append(grey)
        if len(batch) == batch_size:
            candidates += detector.detect(np.stack(batch), max_animals, device, batch_size)
            batch = []
    if batch:
        candidates += detector.detect(np.stack(batch), max_animals, device, batch_size)
    fps = source.fps if np.isfinite(source.fps) else 30.0
    length = body_length(candidates, default=detector.size / 8)
    slots = track(candidates, max_animals, length, max_gap=max(1, round(fps / 2)))
    return _clip(slots, source, clip_id, detector.size, length, fps)


def _clip(slots: list[list[Blob | None]], source: Source, clip_id: str, size: int, length: float, fps: float) -> Clip:
    t, m = len(slots), len(slots[0]) if slots else 0
    keypoints = np.full((t, m, 3, 2), np.nan, np.float32)
    scores = np.full((t, m, 3), np.nan, np.float32)
    box = np.full((t, m, 4), np.nan, np.float32)
    track_id = np.full((t, m), -1, np.int32)
    letterbox = source.letterbox(size)
    for s in range(m):
        found = [(i, row[s]) for i, row in enumerate(slots) if row[s] is not None]
        if not found:
            continue
        index = np.array([i for i, _ in found])
        centres = np.full((t, 2), np.nan, np.float32)
        axes = np.full((t, 2), np.nan, np.float32)
        centres[index] = [b.centre for _, b in found]
        axes[index] = [b.axis for _, b in found]
        axes = orient(centres, axes, length, fps)
        half = np.array([b.length / 2 for _, b in found], np.float32)[:, None]
        points = np.stack([centres[index], centres[index] + axes[index] * half, centres[index] - axes[index] * half], 1)
        keypoints[index, s] = letterbox.to_source(points)
        scores[index, s] = np.array([b.score for _, b in found], np.float32)[:, None]
        box[index, s] = letterbox.to_source(np.array([b.box for _, b in found]))
        track_id[index, s] = s
    return Clip(
        id=clip_id,
        keypoints=keypoints,
        scores=scores,
        track_id=track_id,
        frame_index=np.arange(t, dtype=np.int64),
        box=box,
        fps=source.fps,
        image_size=(source.width, source.height),
        source=str(source.path),
    )


def clip_ids(sources: list[Source]) -> list[str]:
    """The file or folder name without suffix; repeated names get the parent folder's name in front."""
    stems = [s.path.stem for s in sources]
    return [f"{s.path.parent.name}/{stem}" if stems.count(stem) > 1 else stem for s, stem in zip(sources, stems)]


def run(
    inputs,
    output,
    *,
    model=None,
    save_model=None,
    rounds: int = 2,
    device: str = "cpu",
    max_animals: int = 1,
    size: int = 160,
    iters: int = 300,
    max_train_frames: int = 400,
) -> dict:
    """Detect and track animals in every input, write the store at ``output``; returns a summary."""
    import torch

    if device.startswith("cuda") and not torch.cuda.is_available():
        raise PosekitError(f"--device {device}: torch sees no CUDA GPU")
    sources = open_sources(inputs)
    if model is not None:
        detector = Detector.load(model)
        saved = None
    else:
        detector = fit_detector(
            sources,
            size=size,
            rounds=rounds,
            iters=iters,
            max_animals=max_animals,
            device=device,
            max_train_frames=max_train_frames,
        )
        saved = Path(save_model) if save_model else detector_path(output)
        detector.save(saved)
    ids = clip_ids(sources)
    clips = [
        detect_clip(detector, source, clip_id, max_animals=max_animals, device=device)
        for source, clip_id in zip(progress_bar(sources, unit="input", desc="detect", leave=False), ids)
    ]
    provenance = {
        "step": "rodent-detect",
        "rounds": detector.meta.get("rounds"),
        "model": str(model or saved),
        "max_animals": max_animals,
        "work_size": detector.size,
        "threshold": detector.threshold,
        "labels_per_round": detector.meta.get("labels_per_round"),
        "trained_on": detector.meta.get("trained_on"),
        "device": device,
    }
    with StoreWriter(output, layout=LAYOUT, coord_dims=2, allow_empty=True, provenance=provenance) as writer:
        for clip in clips:
            writer.add(clip)
    detected = [int((clip.track_id >= 0).any(axis=1).sum()) for clip in clips]
    return {
        "clips": len(clips),
        "sources": [str(s.path) for s in sources],
        "frames": [c.num_frames for c in clips],
        "detected": detected,
        "detector": saved,
        "model": model,
    }
