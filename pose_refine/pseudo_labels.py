"""Pseudo ground truth for self-training (thesis ch. 3.3.3): boxes and anchor-pose classes from SST-A poses.

Input: per person-frame the SST-A fused 2D pose in pixels and the SST-A confidence C (a refined store's keypoints
and /frames/scores). A person-frame becomes a pseudo label when C >= gamma (eq. 3.3) and its pose spans a box of
positive width and height.

- Box: the extent of the pose (min and max of x and y over its joints), widened by 10% of its width and heightened
  by 10% of its height, half on each side (5% left, 5% right, 5% above, 5% below), then clipped to the image when
  the image size is known. The keypoints do not reach the outline of the body, hence the margin.
- Normalised pose (the space of the anchor poses): the joints relative to the top-left corner of the box (the
  thesis centres "the oriented 2D poses at the left-top corner of the bounding box"), divided by the longer side
  of the box, so a pose is about 0..1 whatever the person's size; orientation is kept (no rotation).
- Anchor poses: k-means (``scipy.cluster.vq.kmeans2``, k-means++ start, seeded) over the normalised poses; a
  joint missing in a pose is filled with that joint's mean for the clustering only. The class of a pose is its
  nearest anchor by the mean squared distance over the joints it has (the thesis's argmin_b S(Anchor_b, P)).

posekit.refine.pseudo_labels reads the refined store and writes the labels with their frames.
"""

from __future__ import annotations

import warnings
from contextlib import contextmanager

import numpy as np

from pose_refine.errors import RefineError

BOX_MARGIN = 0.10  # the thesis's 10%, split evenly between the two sides of each axis


def pseudo_box(pose, *, margin: float = BOX_MARGIN, image_size=None) -> np.ndarray:
    """(..., 4) boxes x1, y1, x2, y2 of poses (..., V, 2): the joints' extent grown by ``margin`` of its width
    and height (half on each side), clipped to (0, 0, width, height) when ``image_size`` is given."""
    pose = np.asarray(pose, dtype=float)
    low, high = np.nanmin(pose, axis=-2), np.nanmax(pose, axis=-2)
    grow = (high - low) * margin / 2
    box = np.concatenate([low - grow, high + grow], axis=-1)
    if image_size is not None and min(image_size) > 0:
        box = np.clip(box, 0, np.tile(np.asarray(image_size, dtype=float), 2))
    return box


def normalise_poses(poses, boxes) -> np.ndarray:
    """(N, V, 2) poses relative to their boxes' top-left corners, divided by the boxes' longer sides."""
    poses, boxes = np.asarray(poses, dtype=float), np.asarray(boxes, dtype=float)
    side = np.maximum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1])
    return (poses - boxes[:, None, :2]) / side[:, None, None]


def fit_anchors(normalised, k: int, *, seed: int = 0) -> np.ndarray:
    """k anchor poses (k, V, 2): k-means centres of normalised poses (N, V, 2), missing joints mean-filled."""
    normalised = np.asarray(normalised, dtype=float)
    if len(normalised) < k:
        raise RefineError(
            f"anchor poses: {len(normalised)} poses cannot make {k} anchors; lower the number of anchors or gamma"
        )
    fill = np.nan_to_num(np.nanmean(normalised, axis=0))  # a joint never seen sits at the corner; it never counts
    data = np.where(np.isnan(normalised), fill, normalised).reshape(len(normalised), -1)
    from scipy.cluster.vq import kmeans2

    centres, _ = kmeans2(data, k, minit="++", rng=np.random.default_rng(seed))
    return centres.reshape(k, *normalised.shape[1:])


def assign_anchors(normalised, anchors) -> np.ndarray:
    """(N,) index of the nearest anchor by mean squared distance over each pose's present joints."""
    normalised, anchors = np.asarray(normalised, dtype=float), np.asarray(anchors, dtype=float)
    squared = ((normalised[:, None] - anchors[None]) ** 2).sum(-1)  # (N, k, V), NaN where the joint is missing
    return np.nanmean(squared, axis=-1).argmin(axis=1)


def select_confident(keypoints, scores, *, gamma: float, image_size=None):
    """The person-frames of one clip's refined poses (T, M, V, 2) whose SST-A confidence C (``scores`` (T, M, V):
    C broadcast over the joints) is >= gamma and whose pose box has positive width and height: (frames, persons,
    their C, their boxes (N, 4))."""
    with _quiet_nan_warnings():
        confidence = np.nanmax(scores, axis=-1)  # C is broadcast over the joints; NaN where no person
        box = pseudo_box(keypoints, image_size=image_size)
    kept = (confidence >= gamma) & (box[..., 2] > box[..., 0]) & (box[..., 3] > box[..., 1])
    frames, persons = np.nonzero(kept)
    return frames, persons, confidence[frames, persons], box[frames, persons]


@contextmanager
def _quiet_nan_warnings():
    """nanmin/nanmax of an absent person (all NaN) warn and return NaN, which the caller handles."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "All-NaN", RuntimeWarning)
        yield
