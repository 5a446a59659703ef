"""Pseudo ground truth on arrays: hand-computed boxes and normalisation, anchors recovered from obvious clusters,
the confident person-frames selected."""

import numpy as np
import pytest

from pose_refine.errors import RefineError
from pose_refine.pseudo_labels import assign_anchors, fit_anchors, normalise_poses, pseudo_box, select_confident

NAN = np.nan


def test_box_is_the_extent_grown_by_ten_percent_half_on_each_side():
    pose = np.array([[10.0, 20.0], [110.0, 20.0], [60.0, 220.0], [NAN, NAN]])
    # extent x 10..110 (w 100), y 20..220 (h 200): 5 px more left and right, 10 px more above and below
    np.testing.assert_allclose(pseudo_box(pose), [5.0, 10.0, 115.0, 230.0])
    # clipped to a 112 x 225 image
    np.testing.assert_allclose(pseudo_box(pose, image_size=(112, 225)), [5.0, 10.0, 112.0, 225.0])


def test_normalised_pose_is_relative_to_the_top_left_corner_over_the_longer_side():
    pose = np.array([[[10.0, 20.0], [110.0, 220.0]]])
    box = np.array([[0.0, 0.0, 100.0, 250.0]])
    np.testing.assert_allclose(normalise_poses(pose, box), [[[0.04, 0.08], [0.44, 0.88]]])


def two_clusters(n=20, seed=0):
    """Standing (vertical) and lying (horizontal) 4-joint poses with a little noise."""
    rng = np.random.default_rng(seed)
    standing = np.array([[0.5, 0.0], [0.5, 0.3], [0.5, 0.6], [0.5, 1.0]])
    lying = standing[:, ::-1]
    poses = np.concatenate([standing + rng.normal(0, 0.02, (n, 4, 2)), lying + rng.normal(0, 0.02, (n, 4, 2))])
    return poses, np.repeat([0, 1], n), standing, lying


def test_kmeans_recovers_two_obvious_anchor_poses():
    poses, truth, standing, lying = two_clusters()
    anchors = fit_anchors(poses, 2, seed=3)
    order = np.argsort(anchors[:, 0, 1])  # the standing anchor has its first joint higher (smaller y)
    np.testing.assert_allclose(anchors[order[0]], standing, atol=0.02)
    np.testing.assert_allclose(anchors[order[1]], lying, atol=0.02)
    classes = assign_anchors(poses, anchors)
    assert (classes == order[truth]).all()
    np.testing.assert_array_equal(fit_anchors(poses, 2, seed=3), anchors)  # seeded


def test_assignment_ignores_missing_joints():
    anchors = np.array([[[0.0, 0.0], [1.0, 1.0]], [[0.0, 0.0], [5.0, 5.0]]])
    pose = np.array([[[NAN, NAN], [4.0, 4.0]]])
    assert assign_anchors(pose, anchors)[0] == 1


def test_too_few_poses_for_the_anchors_is_a_refine_error():
    with pytest.raises(RefineError, match="3 poses cannot make 20 anchors"):
        fit_anchors(np.zeros((3, 4, 2)), 20)


def test_selected_person_frames_are_confident_with_a_box_of_positive_size():
    pose = np.array([[10.0, 20.0], [30.0, 60.0]])
    keypoints = np.stack(
        [np.stack([pose, pose]), np.stack([pose, np.full_like(pose, NAN)]), np.stack([pose, [[5.0, 5.0], [5.0, 9.0]]])]
    )  # (3 frames, 2 persons, 2 joints, 2)
    confidence = np.array([[0.9, 0.1], [0.5, NAN], [0.18, 0.7]])  # frame 2, person 1: a box of width 0
    frames, persons, kept, boxes = select_confident(keypoints, np.repeat(confidence[..., None], 2, axis=-1), gamma=0.18)
    assert list(zip(frames, persons)) == [(0, 0), (1, 0), (2, 0)]
    np.testing.assert_array_equal(kept, [0.9, 0.5, 0.18])
    np.testing.assert_allclose(boxes, np.tile(pseudo_box(pose), (3, 1)))
