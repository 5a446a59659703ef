"""Square grey crops around the animal, frame-exact, from the video a store's clip came from.

The box of each frame comes from the store: ``/frames/box`` of a tracks store (the detector's boxes), or, for a
keypoint store, a square centred on the body centre whose side is a multiple of the animal's median keypoint
extent. Frames are read in order by :class:`posekit.video.VideoReader`, never by seeking (a seek lands on a key
frame in many codecs and shifts every crop by a few frames); each crop is one affine warp, so boxes that leave the
image are padded with the image's edge pixels and sub-pixel boxes are honoured.
"""

from __future__ import annotations

import sys
import warnings
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ...errors import InputError
from ...store import SkeletonStore
from ...video import VideoReader


@dataclass
class Track:
    """One animal of one clip: which frames of which video, and its crops (NaN box = no crop, all zeros)."""

    clip: int
    person: int
    frame_index: np.ndarray  # (T,) frame of the video
    boxes: np.ndarray  # (T, 4) x1, y1, x2, y2, square
    crops: np.ndarray | None = None  # (T, size, size) uint8

    @property
    def valid(self) -> np.ndarray:
        return ~np.isnan(self.boxes).any(axis=1)


def square_boxes(boxes: np.ndarray, margin: float = 1.2) -> np.ndarray:
    """Squares with the centres of ``boxes`` (T, 4) and side ``margin`` x their longer side."""
    boxes = np.asarray(boxes, np.float64)
    centre = (boxes[:, :2] + boxes[:, 2:]) / 2
    half = np.max(boxes[:, 2:] - boxes[:, :2], axis=1, keepdims=True) * margin / 2
    half[~(half > 0)] = np.nan  # an empty box crops nothing
    return np.concatenate([centre - half, centre + half], axis=1)


def boxes_from_keypoints(keypoints: np.ndarray, scale: float = 1.5) -> np.ndarray:
    """(T, 4) squares centred on each frame's mean keypoint, all of side ``scale`` x the median over frames of
    the keypoints' extent (a fixed side: the crop does not zoom as the animal stretches)."""
    xy = np.asarray(keypoints, np.float64)[..., :2]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN frames are missing, silently
        centre = np.nanmean(xy, axis=1)
        extent = np.nanmax(np.nanmax(xy, axis=1) - np.nanmin(xy, axis=1), axis=1)
    side = scale * np.nanmedian(extent) if np.isfinite(extent).any() else np.nan
    side = side if side > 0 else np.nan  # one joint, or all on one spot: nothing to size a crop by
    half = np.full((len(xy), 1), side / 2)
    return np.concatenate([centre - half, centre + half], axis=1)


def crop(frame: np.ndarray, box: np.ndarray, size: int) -> np.ndarray:
    """The ``box`` (x1, y1, x2, y2) of a frame resampled to ``size`` x ``size``; outside pixels replicate the edge."""
    scale_x = size / (box[2] - box[0])
    scale_y = size / (box[3] - box[1])
    warp = np.array([[scale_x, 0, -box[0] * scale_x], [0, scale_y, -box[1] * scale_y]], np.float64)
    return cv2.warpAffine(
        frame,
        warp,
        (size, size),
        flags=cv2.INTER_AREA if scale_x < 1 else cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REPLICATE,
    )


def read_crops(
    video: str | Path, frame_index: np.ndarray, boxes: np.ndarray, size: int
) -> tuple[np.ndarray, np.ndarray]:
    """(T, size, size) grey uint8 crops of ``boxes`` (T, 4) at frames ``frame_index`` (T,) of ``video``, read in
    order, and a (T,) mask of the frames past the video's end (keypoint files often have a row more than their
    video has frames). A NaN box or a frame past the end gives a black crop."""
    frame_index = np.asarray(frame_index, np.int64)
    crops = np.zeros((len(frame_index), size, size), np.uint8)
    past_end = np.zeros(len(frame_index), bool)
    wanted = ~np.isnan(boxes).any(axis=1)
    if not wanted.any():
        return crops, past_end
    rows_of = {}  # video frame -> the rows that crop it
    for row in np.flatnonzero(wanted):
        rows_of.setdefault(int(frame_index[row]), []).append(row)
    with VideoReader(video) as reader:
        for index, frame in reader.read(rows_of):
            grey = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
            for row in rows_of.pop(index):
                crops[row] = crop(grey, boxes[row], size)
    if rows_of:  # the frames left were not reached: the video ends before the first of them
        past_end = frame_index >= min(rows_of)
    if not wanted[~past_end].any():
        raise InputError(f"{video}: has none of the frames the store asks for (from frame {frame_index.min()})")
    return crops, past_end


def video_of(store: SkeletonStore, clip: int, video: str | Path | None) -> Path:
    """The clip's video: ``video`` when given, else the clip's source (relative to the store's folder)."""
    if video is not None:
        path = Path(video)
    else:
        source = Path(store.column("source")[clip])
        path = source if source.is_absolute() or source.exists() else store.path.parent / source
    if not path.is_file():
        raise InputError(f"{store.path}: clip {store.ids[clip]!r} has no video at {path}; give it with --video")
    return path


def store_tracks(
    store_path: str | Path,
    size: int,
    *,
    video: str | Path | None = None,
    margin: float = 1.2,
    keypoint_scale: float = 1.5,
    progress: bool = True,
    warn=None,
) -> list[Track]:
    """Crops of every animal of every clip: detector boxes (``/frames/box``) made square with ``margin``, or,
    in a store without boxes, squares around the keypoints (:func:`boxes_from_keypoints`). ``warn`` is called
    with one line per clip whose video ends before its frames do."""
    from ...progress import progress_bar

    warn = warn or (lambda line: print(line, file=sys.stderr))
    store = SkeletonStore(store_path)
    tracks = []
    fields = ("box", "keypoints", "frame_index")
    for clip in progress_bar(range(len(store)), desc="crops", unit="clip", show=progress, leave=False):
        arrays = store.frames(clip, fields)
        for person in range(store.max_persons):
            if "box" in arrays and not np.isnan(arrays["box"][:, person]).all():
                boxes = square_boxes(arrays["box"][:, person], margin)
            else:
                boxes = boxes_from_keypoints(arrays["keypoints"][:, person], keypoint_scale)
            if np.isnan(boxes).any(axis=1).all():
                continue
            path = video_of(store, clip, video)
            crops, past_end = read_crops(path, arrays["frame_index"], boxes, size)
            if past_end.any():
                boxes[past_end] = np.nan
                warn(
                    f"{path}: ends before frame {arrays['frame_index'][past_end].min()}; {past_end.sum()} frames "
                    f"of clip {store.ids[clip]!r} past its end get no crop"
                )
            tracks.append(Track(clip, person, arrays["frame_index"], boxes, crops))
    store.close()
    if not tracks:
        raise InputError(f"{store_path}: no clip has a box or a keypoint to crop around")
    return tracks
