"""SST-A against hand-computed eq. 3.1-3.4 values and a plain per-frame, per-joint loop of the same equations."""

import math

import numpy as np
import pytest

from pose_refine import sst_aggregate, sst_aggregate_batch
from pose_refine.errors import RefineError
from pose_refine.ssta import BLOCK_PERSONS

NAN = math.nan


def reference_sst(poses, head, neck, gamma=0.18):
    """Eq. 3.1-3.4 written out one frame and one joint at a time, with the documented silent rules."""
    n_experts, n_frames, n_joints, _ = poses.shape

    def dist(p, q):  # eq. 3.2
        return math.sqrt((p[0] - q[0]) ** 2 + (p[1] - q[1]) ** 2)

    def present(p):
        return not (math.isnan(p[0]) or math.isnan(p[1]))

    fused = np.full((n_frames, n_joints, 2), NAN)
    for t in range(n_frames):
        for v in range(n_joints):
            estimates = {k: poses[k, t, v] for k in range(n_experts) if present(poses[k, t, v])}
            if not estimates:
                continue
            if t > 0 and present(fused[t - 1, v]):
                pick = min(estimates, key=lambda k: dist(estimates[k], fused[t - 1, v]))  # first on ties
            elif len(estimates) == 1:
                pick = next(iter(estimates))
            else:
                pairs = [(i, j) for i in estimates for j in estimates if i < j]
                pick = min(pairs, key=lambda ij: dist(estimates[ij[0]], estimates[ij[1]]))[0]
            fused[t, v] = estimates[pick]
    confidence = np.full(n_frames, NAN)
    for t in range(n_frames):
        if not (present(fused[t, head]) and present(fused[t, neck])):
            continue
        total, count = 0.0, 0
        for v in range(n_joints):
            for k in range(n_experts):
                if present(fused[t, v]) and present(poses[k, t, v]):
                    total += dist(fused[t, v], poses[k, t, v])
                    count += 1
        confidence[t] = math.exp(-(total / count) / (dist(fused[t, head], fused[t, neck]) + 1e-12))
    keep = np.array([c >= gamma for c in confidence], dtype=bool)
    return fused, confidence, keep


def toy():
    """2 frames, joints (head, neck), 3 experts: poses[expert][frame][joint]."""
    return np.array(
        [
            [[(0, 0), (0, 8)], [(2, 0), (6, 13)]],  # expert 0
            [[(3, 4), (6, 8)], [(0, 1), (NAN, NAN)]],  # expert 1: misses the neck at frame 1
            [[(0, 1), (6, 9)], [(5, 5), (6, 7)]],  # expert 2
        ],
        dtype=float,
    )


def test_toy_by_hand():
    fused, confidence, keep = sst_aggregate(toy(), head=0, neck=1)
    # Frame 0, head: D(e0,e1) = 5, D(e0,e2) = 1, D(e1,e2) = sqrt(9 + 9) = 4.24 -> pair (0, 2) -> e0 (0, 0).
    # Frame 0, neck: D(e0,e1) = 6, D(e0,e2) = sqrt(36 + 1) = 6.08, D(e1,e2) = 1 -> pair (1, 2) -> e1 (6, 8).
    # Frame 1, head: distances to the fused (0, 0): e0 2, e1 1, e2 sqrt(50) -> e1 (0, 1)
    #   (the closest-pair rule would give e0: D(e0,e1) = sqrt(5) is the smallest pair).
    # Frame 1, neck: to the fused (6, 8): e0 5, e1 missing, e2 1 -> e2 (6, 7) (the pair rule would give e0).
    np.testing.assert_array_equal(fused, [[(0, 0), (6, 8)], [(0, 1), (6, 7)]])
    # Eq. 3.4, frame 0: D_normal = |(0,0) - (6,8)| = 10; distances fused-expert: head 0, 5, 1; neck 6, 0, 1.
    c0 = math.exp(-((0 + 5 + 1 + 6 + 0 + 1) / 6) / 10)
    # Frame 1: D_normal = |(0,1) - (6,7)| = sqrt(72); head: sqrt(4 + 1), 0, sqrt(25 + 16); neck: 6, (missing), 0.
    c1 = math.exp(-((math.sqrt(5) + 0 + math.sqrt(41) + 6 + 0) / 5) / math.sqrt(72))
    np.testing.assert_allclose(confidence, [c0, c1], rtol=1e-12)
    assert c0 == pytest.approx(0.8052, abs=1e-4) and c1 == pytest.approx(0.7082, abs=1e-4)
    np.testing.assert_array_equal(keep, [True, True])


def test_gamma_threshold_keeps_frames_at_or_above():
    _, confidence, _ = sst_aggregate(toy(), head=0, neck=1)
    gamma = (confidence[0] + confidence[1]) / 2  # between c1 = 0.708 and c0 = 0.805
    np.testing.assert_array_equal(sst_aggregate(toy(), head=0, neck=1, gamma=gamma)[2], [True, False])
    assert sst_aggregate(toy(), head=0, neck=1, gamma=confidence[1])[2].all()  # C >= gamma is kept (eq. 3.3)


def three_experts(frames):
    """(3, T, 2 joints, 2) all NaN, to be filled per case; joint 0 head, joint 1 neck."""
    return np.full((3, frames, 2, 2), NAN)


def test_missing_estimate_is_never_selected():
    poses = three_experts(2)
    poses[:, :, 1] = [(0, 10)]  # neck everywhere
    poses[1:, 0, 0] = [(5, 5), (5, 6)]  # frame 0 head: expert 0 missing, the only pair is (1, 2) -> e1
    poses[[0, 2], 1, 0] = [(50, 50), (9, 9)]  # frame 1: e1 (nearest in the past) missing -> e2 is nearest
    fused = sst_aggregate(poses, head=0, neck=1)[0]
    np.testing.assert_array_equal(fused[:, 0], [(5, 5), (9, 9)])


def test_single_estimate_is_taken():
    poses = three_experts(2)
    poses[:, :, 1] = [(0, 10)]
    poses[2, 0, 0] = (7, 7)  # frame 0: only expert 2
    poses[0, 1, 0] = (100, 100)  # frame 1: only expert 0, far from the previous fused head
    fused = sst_aggregate(poses, head=0, neck=1)[0]
    np.testing.assert_array_equal(fused[:, 0], [(7, 7), (100, 100)])


def test_all_missing_gives_nan_joint_only():
    poses = three_experts(2)
    poses[:, :, 0] = np.array([(0, 0), (0, 1), (0, 2)])[:, None]  # head in all frames
    poses[:, 0, 1] = [(0, 10), (0, 11), (0, 12)]  # neck at frame 0 only
    fused = sst_aggregate(poses, head=0, neck=1)[0]
    assert np.isnan(fused[1, 1]).all()
    assert not np.isnan(fused[:, 0]).any() and not np.isnan(fused[0, 1]).any()


def test_previous_nan_restarts_with_first_of_closest_pair():
    poses = three_experts(3)
    poses[:, :, 1] = [(0, 10)]
    poses[:, 0, 0] = [(0, 0), (20, 0), (21, 0)]  # frame 0: pair (1, 2) -> e1 (20, 0)
    # frame 1: head missing everywhere -> fused NaN.
    # frame 2: e2 (20, 0) sits on the last fused head, but the previous fused head is NaN, so the first-frame rule
    # applies: pair (1, 2) at distance 1 is the closest -> the first of the pair, e1 (19, 0).
    poses[:, 2, 0] = [(0, 0), (19, 0), (20, 0)]
    fused = sst_aggregate(poses, head=0, neck=1)[0]
    np.testing.assert_array_equal(fused[0, 0], (20, 0))
    assert np.isnan(fused[1, 0]).all()
    np.testing.assert_array_equal(fused[2, 0], (19, 0))


def test_first_frame_ties_go_to_the_first_pair_and_its_first_expert():
    poses = three_experts(1)
    poses[:, 0, 1] = [(0, 10)]
    poses[:, 0, 0] = [(0, 0), (1, 0), (2, 0)]  # D(e0,e1) = D(e1,e2) = 1: pair (0, 1) comes first -> e0
    np.testing.assert_array_equal(sst_aggregate(poses, head=0, neck=1)[0][0, 0], (0, 0))
    poses[:, 0, 0] = [(9, 9), (2, 0), (3, 0)]  # pair (1, 2) is the closest -> its first expert, e1 (2, 0)
    np.testing.assert_array_equal(sst_aggregate(poses, head=0, neck=1)[0][0, 0], (2, 0))
    np.testing.assert_array_equal(sst_aggregate(poses[[0, 2, 1]], head=0, neck=1)[0][0, 0], (3, 0))


def test_missing_head_or_neck_gives_nan_confidence_and_no_keep():
    poses = np.repeat(toy(), 3, axis=1)  # 6 frames
    poses[:, 2, 0] = NAN  # fused head missing at frame 2
    poses[:, 4, 1] = NAN  # fused neck missing at frame 4
    _, confidence, keep = sst_aggregate(poses, head=0, neck=1, gamma=0.0)
    assert np.isnan(confidence[[2, 4]]).all() and not keep[[2, 4]].any()
    assert np.isfinite(confidence[[0, 1, 3, 5]]).all() and keep[[0, 1, 3, 5]].all()


def test_confidence_is_one_when_experts_agree():
    poses = np.repeat(toy()[:1], 2, axis=0)
    _, confidence, _ = sst_aggregate(poses, head=0, neck=1)
    np.testing.assert_array_equal(confidence, [1.0, 1.0])


def test_a_neck_given_as_joints_is_the_mean_of_their_fused_positions():
    poses = np.full((3, 4, 3, 2), NAN)  # 3 experts, 4 frames, 3 joints
    poses[:, :, 1] = (0.0, 10.0)  # joint 1 at (0, 10) and joint 2 at (6, 2): their midpoint (3, 6)
    poses[:, :, 2] = (6.0, 2.0)
    poses[:, :, 0] = (3.0, 1.0)  # the head, 5 px from the midpoint
    poses[2] += (0.6, 0.8)  # the third expert 1 px off on every joint: 3 px over 9 estimates
    poses[1, 3, 2] = NAN  # an expert missing joint 2 at frame 3 still leaves it fused: 3 px over 8 estimates
    _, confidence, _ = sst_aggregate(poses, head=0, neck=(1, 2))
    np.testing.assert_allclose(confidence, np.exp(-np.array([3 / 9, 3 / 9, 3 / 9, 3 / 8]) / 5))
    poses[:, 2, 2] = NAN  # no expert gives joint 2 at frame 2: no neck, no confidence
    assert np.isnan(sst_aggregate(poses, head=0, neck=(1, 2))[1][2])


def random_poses(rng, n_experts, frames, joints, integer=False):
    truth = np.cumsum(rng.normal(0, 3, (frames, joints, 2)), axis=0) + rng.uniform(0, 100, (1, joints, 2))
    poses = truth + rng.normal(0, 4, (n_experts, frames, joints, 2))
    if integer:  # coarse integer grid: many exact ties in the argmins
        poses = np.round(poses / 4)
    poses[rng.random((n_experts, frames, joints)) < 0.25] = NAN  # missed joints
    poses[rng.random((n_experts, frames)) < 0.1] = NAN  # missed persons
    return poses


@pytest.mark.parametrize("seed", range(40))
def test_vectorised_agrees_with_reference_loop(seed):
    rng = np.random.default_rng(seed)
    n_experts = 2 + seed % 3
    poses = random_poses(rng, n_experts, frames=int(rng.integers(1, 30)), joints=5, integer=seed % 2 == 1)
    fused, confidence, keep = sst_aggregate(poses, head=0, neck=1, gamma=0.3)
    ref_fused, ref_confidence, ref_keep = reference_sst(poses, head=0, neck=1, gamma=0.3)
    np.testing.assert_array_equal(fused, ref_fused)
    np.testing.assert_allclose(confidence, ref_confidence, rtol=1e-12)
    assert ((keep == ref_keep) | np.isclose(confidence, 0.3, rtol=1e-12)).all()


def test_batch_equals_one_person_at_a_time():
    rng = np.random.default_rng(7)
    persons = np.stack([random_poses(rng, 3, 12, 4) for _ in range(5)])
    fused, confidence, keep = sst_aggregate_batch(persons, head=1, neck=2)
    for p in range(5):
        one = sst_aggregate(persons[p], head=1, neck=2)
        np.testing.assert_array_equal(fused[p], one[0])
        np.testing.assert_array_equal(confidence[p], one[1])
        np.testing.assert_array_equal(keep[p], one[2])


@pytest.mark.parametrize("threads", [1, 2])
def test_blocks_of_persons_on_threads_equal_one_person_at_a_time(threads):
    rng = np.random.default_rng(8)
    n_persons = 2 * BLOCK_PERSONS + 3  # two full blocks and a partial one
    persons = np.stack([random_poses(rng, 3, 6, 4) for _ in range(n_persons)])
    fused, confidence, _ = sst_aggregate_batch(persons, head=1, neck=2, threads=threads)
    for p in (0, BLOCK_PERSONS - 1, BLOCK_PERSONS, n_persons - 1):
        one = sst_aggregate(persons[p], head=1, neck=2)
        np.testing.assert_array_equal(fused[p], one[0])
        np.testing.assert_array_equal(confidence[p], one[1])


def test_float32_input_is_aggregated_in_float32_with_the_same_picks():
    poses = random_poses(np.random.default_rng(9), 3, 20, 5)  # no near-ties: float32 picks the same estimates
    fused64, confidence64, _ = sst_aggregate(poses, head=0, neck=1)
    fused32, confidence32, _ = sst_aggregate(poses.astype(np.float32), head=0, neck=1)
    assert fused32.dtype == confidence32.dtype == np.float32
    np.testing.assert_array_equal(fused32, fused64.astype(np.float32))
    np.testing.assert_allclose(confidence32, confidence64, rtol=1e-5)
    integers = np.arange(2 * 3 * 4 * 2).reshape(2, 3, 4, 2)  # pixel grids: computed in float64
    assert sst_aggregate(integers, head=0, neck=1)[0].dtype == np.float64


@pytest.mark.parametrize(
    "shape, head, neck, message",
    [
        ((1, 4, 3, 2), 0, 1, "at least 2 experts"),
        ((3, 4, 3), 0, 1, "must be"),
        ((3, 4, 3, 3), 0, 1, "must be"),
        ((3, 4, 3, 2), 0, 3, "neck index 3"),
        ((3, 4, 3, 2), 1, 1, "different joints"),
        ((3, 4, 3, 2), 0, (1, 3), "neck index"),
        ((3, 4, 3, 2), 0, (), "neck index"),
        ((3, 4, 3, 2), (1, 2), (2, 1), "different joints"),
    ],
)
def test_bad_input_raises_one_line_refine_error(shape, head, neck, message):
    with pytest.raises(RefineError, match=message):
        sst_aggregate(np.zeros(shape), head=head, neck=neck)
