"""``posekit show``: a store's skeletons drawn on the frames of their video, frame-exact by /frames/frame_index.

One clip is drawn with a colour per track; the several expert clips of one video of a proposals store are drawn
together, a colour per expert. In a refined store a person whose SST-A confidence is below the refine step's gamma
is drawn grey. Every frame of the video is written, drawn or not, so the output lines up with the input.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .draw import LOW_CONFIDENCE, colour, draw_person, draw_text, line_width, person_label
from .errors import InputError
from .store import SkeletonStore, atomic_path
from .video import VideoReader


def show(store_path, video, output, *, clip: str | None = None, progress: bool = True) -> dict:
    """Draw the chosen clips of ``store_path`` on ``video`` into ``output`` (written whole or not at all)."""
    import cv2

    from .progress import progress_bar

    store = SkeletonStore(store_path)
    indices = select_clips(store, Path(video), clip)
    layers = [_layer(store, index, position, several=len(indices) > 1) for position, index in enumerate(indices)]
    gamma = next((s.get("gamma") for s in reversed(store.provenance) if s.get("step") == "refine"), None)
    reader = VideoReader(video)
    width, height = reader.image_size
    _check_size(store, indices, (width, height), video)
    fps = reader.fps if reader.fps > 0 else float(np.nan_to_num(store.column("fps")[indices[0]], nan=25.0))
    total = reader.frame_count or None
    bones = store.layout.bones
    written = drawn = 0
    output = Path(output)
    with atomic_path(output) as tmp:
        scratch = tmp.with_name(tmp.name + output.suffix)  # OpenCV picks the container from the extension
        writer = cv2.VideoWriter(str(scratch), cv2.VideoWriter_fourcc(*"mp4v"), fps, (width, height))
        try:
            if not writer.isOpened():
                raise InputError(f"{output}: OpenCV cannot write a video here (use an .mp4 or .avi name)")
            with progress_bar(total=total, desc="show", unit="frame", show=progress, leave=False) as bar:
                for _, image in reader.frames():  # to the video's real end: a container's frame count is a hint
                    drawn += any([_draw(image, layer, written, bones, gamma) for layer in layers])
                    writer.write(image)
                    written += 1
                    bar.update()
            writer.release()
            os.replace(scratch, tmp)
        finally:
            writer.release()
            reader.close()
            scratch.unlink(missing_ok=True)
    store.close()
    beyond = sum(int((layer["frame_index"] >= written).sum()) for layer in layers)
    return {
        "output": str(output),
        "frames": written,
        "drawn": drawn,
        "clips": [layer["id"] for layer in layers],
        "store_frames_beyond_video": beyond,
    }


def select_clips(store: SkeletonStore, video: Path, clip: str | None) -> list[int]:
    """The clips to draw: ``clip`` (an id, or a video id whose ``id@expert`` clips all go), else those of VIDEO."""
    ids = list(store.ids)
    if clip is not None:
        chosen = [ids.index(clip)] if clip in ids else [i for i, c in enumerate(ids) if c.rpartition("@")[0] == clip]
        if not chosen:
            raise InputError(f"{store.path}: no clip {clip!r} (and no {clip}@EXPERT clips); ids: {_some(ids)}")
        return chosen
    sources = store.column("source")
    chosen = [i for i, source in enumerate(sources) if source and Path(source).name == video.name]
    if chosen:
        return chosen
    if len({c.rpartition("@")[0] or c for c in ids}) == 1:  # one clip, or one video's expert clips
        return list(range(len(ids)))
    raise InputError(
        f"{store.path}: no clip has {video.name} as its source; choose one with --clip (ids: {_some(ids)})"
    )


def _check_size(store: SkeletonStore, indices, size, video) -> None:
    """Pixel coordinates only fit the video they were measured on."""
    for index in indices:
        recorded = tuple(int(v) for v in store.column("image_size")[index])
        if recorded != (0, 0) and recorded != tuple(size):
            raise InputError(
                f"{video}: {size[0]}x{size[1]} frames, but clip {store.ids[index]!r} was measured on "
                f"{recorded[0]}x{recorded[1]}; is this its video?"
            )


def _some(ids, count=5) -> str:
    return ", ".join(ids[:count]) + (f" ... ({len(ids)} clips)" if len(ids) > count else "")


def _layer(store: SkeletonStore, index: int, position: int, several: bool) -> dict:
    """One clip's arrays ready to draw, with its rows keyed by video frame index and its per-person confidence."""
    frames = store.frames(index, ("keypoints", "scores", "track_id", "frame_index"))
    present = ~np.isnan(frames["keypoints"][..., 0])
    scores = np.where(present, frames["scores"], 0)
    counted = (present & ~np.isnan(scores)).sum(axis=-1)
    with np.errstate(invalid="ignore"):  # 0 / 0: no scored joint, NaN confidence (no label value)
        confidence = np.nansum(scores, axis=-1) / np.where(counted, counted, np.nan)
    clip_id = str(store.ids[index])
    return {
        "id": clip_id,
        "name": clip_id.rpartition("@")[2],
        "colour": colour(position),
        "position": position,
        "several": several,
        "keypoints": frames["keypoints"],
        "track_id": frames["track_id"],
        "frame_index": frames["frame_index"],
        "confidence": confidence,
        "rows": {int(f): row for row, f in enumerate(frames["frame_index"])},
    }


def _draw(image, layer, frame_number, bones, gamma) -> bool:
    """Draw one clip's persons of this video frame; True if there was anyone to draw."""
    if layer["several"]:  # a legend: the expert's name in its colour
        draw_text(image, layer["name"], (8, 18 * (layer["position"] + 1) * line_width(image)), layer["colour"])
    row = layer["rows"].get(frame_number)
    if row is None:
        return False
    track_ids, confidence = layer["track_id"][row], layer["confidence"][row]
    people = np.flatnonzero(track_ids >= 0)
    for slot in people:
        low = gamma is not None and not confidence[slot] >= gamma
        ink = LOW_CONFIDENCE if low else layer["colour"] if layer["several"] else colour(track_ids[slot])
        # Several experts: one label per person (the first expert's), or they would overprint each other.
        label = (
            ""
            if layer["position"]
            else f"#{track_ids[slot]}"
            if layer["several"]
            else person_label(track_ids[slot], confidence[slot])
        )
        draw_person(image, layer["keypoints"][row, slot, :, :2], bones, ink, label)
    return bool(len(people))
