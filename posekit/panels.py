"""``posekit show`` without a video: several clips side by side on a blank canvas, one panel each, so the inputs
and the result of ``posekit retarget`` / ``compose`` can be compared at a glance.

Each panel is titled by its clip id and holds the whole clip fitted into it (one scale and offset for all its
frames, so the clip's own movement shows). A video loops every clip to the length of the longest; a contact sheet
(``frames``) is one image with a row per clip of that many evenly spaced frames.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .clip_refs import clip_index
from .draw import colour, draw_person, draw_text, fit_into
from .errors import InputError
from .store import SkeletonStore, atomic_path

TITLE = 28  # rows above each panel's drawing, for its title
IMAGE_SUFFIXES = (".png", ".jpg")
DEFAULT_FPS = 25.0  # for clips that record none


def show_panels(
    store_path,
    output,
    *,
    clips=None,
    max_panels: int = 6,
    panel_size: int = 320,
    frames: int | None = None,
    progress: bool = True,
) -> dict:
    """Draw ``clips`` (ids or indices; default: the first ``max_panels``) of a store side by side into ``output``:
    a video, or with ``frames`` a contact sheet image. Written whole or not at all."""
    output = Path(output)
    is_image = output.suffix.lower() in IMAGE_SUFFIXES
    if is_image != bool(frames):
        raise InputError(f"{output}: --frames K writes a contact sheet (.png or .jpg); without it, a video (.mp4)")
    size = panel_size + panel_size % 2  # video encoders want even sizes
    with SkeletonStore(store_path) as store:
        indices = choose_clips(store, clips, max_panels)
        panels = [_panel(store, int(index), position, size) for position, index in enumerate(indices)]
        bones, total = store.layout.bones, len(store)
        fps = float(store.column("fps")[indices[0]])
    if frames:
        length = _write_sheet(output, panels, frames, size, bones)
    else:
        length = _write_video(output, panels, size, bones, fps if fps > 0 else DEFAULT_FPS, progress)
    return {
        "output": str(output),
        "clips": [p["id"] for p in panels],
        "of": total,
        "frames": length,
        "width": size * (frames or len(panels)),
        "panel_size": size,
    }


def choose_clips(store: SkeletonStore, clips, max_panels: int) -> list[int]:
    """Indices of the chosen clips (ids, else indices), or of the store's first ``max_panels``."""
    if not clips:
        return list(range(min(len(store), max_panels)))
    return [clip_index(store, clip) for clip in clips]


def _panel(store: SkeletonStore, index: int, position: int, size: int) -> dict:
    """One clip's persons (T, M, V, 2) fitted into a panel below its title."""
    keypoints = store.frames(index, ("keypoints",))["keypoints"][..., :2].astype(np.float64)
    return {
        "id": str(store.ids[index]),
        "colour": colour(position),
        "keypoints": fit_into(keypoints, size, size, top=TITLE),
    }


def _cell(panel: dict, frame: int, size: int, bones, title: str) -> np.ndarray:
    """One panel's image of one frame: every person present in it, and the title."""
    image = np.zeros((size, size, 3), np.uint8)
    for person in panel["keypoints"][frame]:
        if not np.isnan(person).all():
            draw_person(image, person, bones, panel["colour"])
    draw_text(image, title, (6, TITLE - 10), panel["colour"])
    return image


def _write_video(output: Path, panels, size: int, bones, fps: float, progress: bool) -> int:
    """Every clip looped to the longest one's length, panels side by side; returns the number of frames."""
    import cv2

    from .progress import progress_bar

    length = max(len(p["keypoints"]) for p in panels)
    with atomic_path(output) as tmp:
        scratch = tmp.with_name(tmp.name + output.suffix)  # OpenCV picks the container from the extension
        writer = cv2.VideoWriter(str(scratch), cv2.VideoWriter_fourcc(*"mp4v"), fps, (size * len(panels), size))
        try:
            if not writer.isOpened():
                raise InputError(f"{output}: OpenCV cannot write a video here (use an .mp4 or .avi name)")
            for t in progress_bar(range(length), desc="show", unit="frame", show=progress, leave=False):
                cells = []
                for p in panels:
                    frame = t % len(p["keypoints"])
                    cells.append(_cell(p, frame, size, bones, f"{p['id']}  {frame + 1}/{len(p['keypoints'])}"))
                writer.write(np.hstack(cells))
            writer.release()
            os.replace(scratch, tmp)
        finally:
            writer.release()
            scratch.unlink(missing_ok=True)
    return length


def _write_sheet(output: Path, panels, frames: int, size: int, bones) -> int:
    """A row per clip of ``frames`` evenly spaced frames; returns the number of frames per row."""
    import cv2

    rows = []
    for p in panels:
        length = len(p["keypoints"])
        picks = np.linspace(0, length - 1, frames).round().astype(int)
        rows.append(np.hstack([_cell(p, t, size, bones, f"{p['id']}  {t + 1}/{length}") for t in picks]))
    with atomic_path(output) as tmp:
        scratch = tmp.with_name(tmp.name + output.suffix)  # OpenCV picks the format from the extension
        try:
            if not cv2.imwrite(str(scratch), np.vstack(rows)):
                raise InputError(f"{output}: OpenCV cannot write an image here")
            os.replace(scratch, tmp)
        finally:
            scratch.unlink(missing_ok=True)
    return frames
