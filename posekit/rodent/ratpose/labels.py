"""RatPose-style future-position labels (RatPose / DMSD) and the format helpers of a RatPose-style store.

A RatPose-style store is a posekit store whose clips are session recordings of one animal in one scenario
(data_schemas/ratpose.md): the body centre per frame, its box, and the clip's scenario, session, individual and
difficulty as JSON in ``/clips/text``. Labelling adds ``/frames/labels``: where the animal will be ``horizon``
seconds later, as one of five classes -- moved further than ``radius`` towards up / down / left / right, or stayed
within it (middle).
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from ...layouts import Layout, get_layout
from ...store import SkeletonStore, StoreError, atomic_path
from ...store.format import STR, provenance_step

CLASSES = ("up", "down", "left", "right", "middle")
MIDDLE = CLASSES.index("middle")
CLASS_DESCRIPTIONS = tuple(
    f"the body centre moves more than the radius {name} within the horizon" for name in CLASSES[:4]
) + ("the body centre stays within the radius",)
META_KEYS = ("scenario", "session", "individual", "difficulty")
CENTRE_LAYOUT = get_layout("rodent-centre-1")


@dataclass(frozen=True)
class Convention:
    """How a motion vector becomes a direction class.

    ``y_down``: the coordinates' y axis points down the image (pixels); False for y-up coordinates.
    ``sector_names``: the class of the four 90-degree sectors centred on the angles 0, 90, 180, 270 degrees,
    counterclockwise as seen on the image, 0 = along +x. A vector exactly on a sector boundary (45, 135...)
    belongs to the sector that starts there going counterclockwise (the paper's intervals are open)."""

    y_down: bool
    sector_names: tuple[str, str, str, str]


# "screen": labels name the direction seen on the image; "paper": seed 000's table taken literally (up for
# theta in (3pi/4, 5pi/4), left (5pi/4, 7pi/4), down (7pi/4, 9pi/4), right (9pi/4, 11pi/4)), which names the
# sector around 180 degrees "up"; "-y-up" variants for coordinates whose y axis points up.
CONVENTIONS = {
    "screen": Convention(True, ("right", "up", "left", "down")),
    "screen-y-up": Convention(False, ("right", "up", "left", "down")),
    "paper": Convention(True, ("down", "right", "up", "left")),
    "paper-y-up": Convention(False, ("down", "right", "up", "left")),
}


def get_convention(name: str) -> Convention:
    if name not in CONVENTIONS:
        raise StoreError(f"unknown angle convention {name!r}; conventions: {', '.join(CONVENTIONS)}")
    return CONVENTIONS[name]


def direction_classes(vectors: np.ndarray, radius: float, convention: Convention) -> np.ndarray:
    """Class index (into CLASSES) of each motion vector (..., 2); -1 where the vector is NaN.

    A length <= radius is middle (the paper leaves length == radius undefined). Sectors are decided by
    comparing |dx| and |dy|, so boundaries are exact rather than subject to atan2 rounding."""
    dx = vectors[..., 0]
    dy = -vectors[..., 1] if convention.y_down else vectors[..., 1]  # dy > 0: up on the image
    sector = np.select(
        [
            (dx > np.abs(dy)) | ((dx > 0) & (dy == -dx)),  # around 0 deg; 315 deg boundary
            (dy > np.abs(dx)) | ((dy > 0) & (dx == dy)),  # around 90; 45 deg boundary
            (-dx > np.abs(dy)) | ((dx < 0) & (dy == -dx)),  # around 180; 135 deg boundary
            (-dy > np.abs(dx)) | ((dy < 0) & (dx == dy)),
        ],  # around 270; 225 deg boundary
        [0, 1, 2, 3],
        default=0,
    )
    index = np.array([CLASSES.index(name) for name in convention.sector_names])[sector]
    index = np.where(np.hypot(dx, dy) <= radius, MIDDLE, index)
    return np.where(np.isnan(dx) | np.isnan(dy), -1, index)


def future_position_classes(
    positions: np.ndarray, frame_index: np.ndarray, fps: float, horizon: float, radius: float, convention: Convention
) -> np.ndarray:
    """(T,) class of each frame from the body centre ``positions`` (T, 2): the displacement to the frame
    ``round(horizon * fps)`` video frames later. -1 (unlabelled) when that frame is not in the clip (the last
    frames, gaps) or either position is missing."""
    step = int(round(horizon * fps))
    target = np.searchsorted(frame_index, frame_index + step)
    found = target < len(frame_index)
    found[found] = frame_index[target[found]] == frame_index[found] + step
    vectors = np.full(positions.shape, np.nan, np.float64)
    vectors[found] = positions[target[found]] - positions[found]
    return direction_classes(vectors, radius, convention)


def constant_velocity_classes(
    positions: np.ndarray, ends: np.ndarray, history: int, horizon_frames: int, radius: float, convention: Convention
) -> np.ndarray:
    """The no-learning baseline: extrapolate the mean velocity over the ``history`` frames before each end
    frame ``horizon_frames`` ahead and label that displacement with the same rule."""
    velocity = (positions[ends] - positions[ends - history]) / history
    return direction_classes(velocity * horizon_frames, radius, convention)


def body_centre(keypoints: np.ndarray, layout: Layout) -> np.ndarray:
    """(T, 2) body centre of the first animal of a clip: the layout's centre joint when the layout is one joint
    or a tree (a centre without bones is just the first joint), else the mean of the valid joints."""
    animal = keypoints[:, 0, :, :2]
    if layout.centre is not None and (layout.parents or layout.num_joints == 1):
        return animal[:, layout.index(layout.centre)]
    with np.errstate(all="ignore"):  # frames with no joint give NaN, which means unlabelled
        return np.nanmean(animal, axis=1)


def clip_text(scenario: str, session: str, individual: str, difficulty: str) -> str:
    """The ``/clips/text`` of a RatPose-style clip."""
    return json.dumps(dict(scenario=scenario, session=session, individual=individual, difficulty=difficulty))


def clip_meta(text: str, where: str = "clip") -> dict:
    """Scenario, session, individual and difficulty of a RatPose-style clip, from its ``/clips/text``."""
    try:
        meta = json.loads(text)
    except ValueError:
        meta = None
    if not isinstance(meta, dict) or any(key not in meta for key in META_KEYS):
        raise StoreError(f"{where}: clip text is not RatPose metadata (JSON with {', '.join(META_KEYS)})")
    return {key: str(meta[key]) for key in META_KEYS}


def radius_pixels(image_size, fraction: float) -> float:
    """The labelling radius: ``fraction`` of the longer image side (the paper: 1/10 of the image's length)."""
    return float(fraction * max(image_size))


def label_store(
    source,
    output,
    *,
    horizon: float = 3.0,
    radius: float = 0.1,
    convention: str = "screen",
    image_size: tuple[int, int] | None = None,
) -> dict:
    """Write ``output``: ``source`` with per-frame future-position labels (``/frames/labels``, one-hot over
    CLASSES, no class where unlabelled) and CLASSES as its classes. The per-clip labels are reset to -1 when
    the source had other classes. ``image_size`` (width, height) stands in for clips that do not record theirs
    (keypoint files such as DeepLabCut's). Returns the count of frames per class and unlabelled."""
    source, output = Path(source), Path(output)
    rule = get_convention(convention)
    labels = []
    with SkeletonStore(source) as store:
        if store.coordinates != "pixel":
            raise StoreError(f"{source}: coordinates are {store.coordinates!r}; labelling needs pixel coordinates")
        fps, sizes, ids = store.column("fps"), store.column("image_size"), store.ids
        if image_size is not None:
            sizes[(sizes <= 0).any(axis=1)] = image_size
        for i in range(len(store)):
            if not np.isfinite(fps[i]) or fps[i] <= 0 or (sizes[i] <= 0).any():
                raise StoreError(
                    f"{source}: clip {ids[i]!r} has no fps or image size; both are needed to label "
                    f"a {horizon:g} s horizon and a radius of {radius:g} of the image (--image-size)"
                )
            frames = store.frames(i, ("keypoints", "frame_index"))
            labels.append(
                future_position_classes(
                    body_centre(frames["keypoints"], store.layout),
                    frames["frame_index"],
                    float(fps[i]),
                    horizon,
                    radius_pixels(sizes[i], radius),
                    rule,
                )
            )
        same_classes = store.classes == list(CLASSES)
    classes = np.concatenate(labels) if labels else np.zeros(0, int)
    one_hot = np.zeros((len(classes), len(CLASSES)), bool)
    one_hot[np.flatnonzero(classes >= 0), classes[classes >= 0]] = True
    counts = {name: int((classes == k).sum()) for k, name in enumerate(CLASSES)}
    counts["unlabelled"] = int((classes < 0).sum())
    with atomic_path(output) as tmp:
        shutil.copyfile(source, tmp)
        with h5py.File(tmp, "r+") as f:
            _write_labels(f, one_hot, reset_clip_labels=not same_classes)
            f["clips/image_size"][...] = sizes  # the sizes the radius was taken from, --image-size included
            steps = json.loads(f.attrs.get("provenance", "[]"))
            steps.append(
                provenance_step(
                    step="ratpose-label",
                    horizon_s=horizon,
                    radius_fraction=radius,
                    convention=convention,
                    image_size=image_size,
                    counts=counts,
                )
            )
            f.attrs["provenance"] = json.dumps(steps)
    return counts


def _write_labels(f: h5py.File, one_hot: np.ndarray, reset_clip_labels: bool) -> None:
    frames = f["frames"]
    keypoints = frames["keypoints"]
    if "labels" in frames:
        del frames["labels"]
    frames.create_dataset(
        "labels",
        data=one_hot,
        maxshape=(None, None),
        chunks=(max(1, min(len(one_hot), keypoints.chunks[0])), len(CLASSES)),
        compression=keypoints.compression,
        shuffle=keypoints.compression is not None,
        fletcher32=keypoints.fletcher32,
    )
    for key, values in (("name", CLASSES), ("description", CLASS_DESCRIPTIONS)):
        del f["classes"][key]
        f["classes"].create_dataset(key, data=np.array(values, dtype=object), dtype=STR)
    if reset_clip_labels:
        f["clips/label"][...] = -1


def frame_classes(store: SkeletonStore, index: int) -> np.ndarray:
    """(T,) class index of each frame of a labelled clip, -1 where unlabelled."""
    if store.classes != list(CLASSES) or "labels" not in store.frame_fields:
        raise StoreError(f"{store.path}: no future-position labels; run posekit rodent label first")
    one_hot = store.frames(index, ("labels",))["labels"]
    return np.where(one_hot.any(axis=1), one_hot.argmax(axis=1), -1)
