"""Tracking: stable ids for crossing, occluded and re-entering persons, one track per person across experts,
and the choice of the main persons; the cost terms against hand-computed values."""

import numpy as np
import pytest

from posekit.extract.tracking import Tracker, box_iou, keypoint_distance, main_tracks

from .synthetic import crossing, figure


def _boxes(keypoints):
    return np.concatenate([keypoints.min(axis=1), keypoints.max(axis=1)], axis=1)


def _run(tracker, frames_of_persons):
    """Track ids per frame for one expert, given per frame a (P, V, 2) array."""
    return [
        tracker.update(f, [(kp, _boxes(kp) if len(kp) else np.zeros((0, 4)))])[0].tolist()
        for f, kp in enumerate(frames_of_persons)
    ]


def test_box_iou_and_keypoint_distance_by_hand():
    a = np.array([[0, 0, 10, 10]])
    b = np.array([[5, 0, 15, 10], [20, 20, 30, 30], [np.nan] * 4])
    np.testing.assert_allclose(box_iou(a, b), [[50 / 150, 0, 0]])
    p = np.array([[[0, 0], [3, 4], [np.nan, np.nan]]])
    q = np.array([[[0, 0], [0, 0], [1, 1]], [[np.nan, np.nan]] * 3])
    # joints present in both: 0 (distance 0) and 1 (distance 5) -> mean 2.5, over scale 5; no shared joint -> inf
    np.testing.assert_allclose(keypoint_distance(p, q, np.array([5.0, 5.0])), [[0.5, np.inf]])


def test_crossing_persons_keep_their_ids_whatever_the_order_of_detections():
    poses = crossing(frames=24)
    rng = np.random.default_rng(1)
    orders = [rng.permutation(2) for _ in range(len(poses))]
    ids = _run(Tracker(), [poses[f][orders[f]] for f in range(len(poses))])
    # The id of each true person in each frame: one id per person throughout, the two different.
    truth = np.array([[ids[f][int(np.flatnonzero(orders[f] == p)[0])] for p in (0, 1)] for f in range(len(poses))])
    assert (truth[:, 0] == truth[0, 0]).all() and (truth[:, 1] == truth[0, 1]).all()
    assert truth[0, 0] != truth[0, 1]


def test_gap_of_a_few_frames_is_bridged_and_a_late_return_is_a_new_person():
    walk = [figure((60 + 4 * f, 100), 80)[None] for f in range(40)]
    empty = np.zeros((0, 17, 2))
    frames = walk[:10] + [empty] * 5 + walk[15:20] + [empty] * 15 + walk[35:40]
    ids = _run(Tracker(max_gap=10), frames)
    seen = [i[0] for i in ids if i]
    assert seen[:15] == [seen[0]] * 15  # 5 frames unseen: the same id
    assert seen[15] != seen[0] and seen[15:] == [seen[15]] * 5  # 15 frames unseen: a new id


def test_experts_share_tracks_and_a_person_one_expert_misses_is_not_duplicated():
    poses = crossing(frames=12)
    tracker = Tracker()
    for f in range(len(poses)):
        a = poses[f]
        b = poses[f][::-1] + 2.0  # the other expert lists them the other way round, a little off
        if f in (3, 4):
            a = a[:1]  # expert A misses person 1 for two frames
        ids_a, ids_b = tracker.update(f, [(a, _boxes(a)), (b, _boxes(b))])
        assert ids_b[::-1][: len(ids_a)].tolist() == ids_a.tolist()
    assert len(tracker.tracks) == 2


def test_main_tracks_prefers_long_and_large_tracks():
    tracker = Tracker()
    for f in range(10):
        persons = [figure((80, 100), 100)]
        if f < 2:
            persons.append(figure((250, 100), 120))  # large but brief
        persons.append(figure((200, 60), 30))  # long but small
        kp = np.stack(persons)
        tracker.update(f, [(kp, _boxes(kp))])
    long_large, brief, small = 0, 1, 2
    assert main_tracks(tracker, 2) == [long_large, small]
    assert main_tracks(tracker, None) == [long_large, small, brief]


@pytest.mark.parametrize("max_gap", [0, 3])
def test_no_person_at_all_gives_no_track(max_gap):
    tracker = Tracker(max_gap=max_gap)
    for f in range(4):
        assert tracker.update(f, [(np.zeros((0, 17, 2)), np.zeros((0, 4)))])[0].tolist() == []
    assert main_tracks(tracker, 2) == []
