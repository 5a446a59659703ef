"""Each simulated error kind does what it says, and nothing else."""

import numpy as np
import pytest

from pose_refine.errors import RefineError
from pose_refine.simulate import ExpertErrors, side_pairs, simulate_expert, simulate_experts
from posekit.layouts import get_layout

PENN = get_layout("penn-13")


@pytest.fixture
def truth():
    rng = np.random.default_rng(0)
    return rng.uniform(100, 300, (2000, PENN.num_joints, 2))


def person_size(truth):
    extent = truth.max(axis=1) - truth.min(axis=1)
    return np.hypot(extent[:, 0], extent[:, 1])


def test_no_errors_is_the_truth(truth):
    np.testing.assert_array_equal(simulate_expert(truth, ExpertErrors()), truth)


def test_jitter_is_gaussian_relative_to_person_size(truth):
    truth = truth.copy()
    truth[1000:] = 200 + (truth[1000:] - 200) * 2  # the second half is twice as large: twice the jitter
    error = (simulate_expert(truth, ExpertErrors(jitter=0.05), seed=1) - truth) / person_size(truth)[:, None, None]
    assert error.std() == pytest.approx(0.05, rel=0.02)
    assert abs(error.mean()) < 0.002


def test_occluded_jitter_touches_occluded_joints_only(truth):
    visibility = np.random.default_rng(2).random(truth.shape[:2]) < 0.7
    estimate = simulate_expert(truth, ExpertErrors(occluded_jitter=0.1), visibility=visibility)
    moved = (estimate != truth).any(axis=-1)
    np.testing.assert_array_equal(moved, ~visibility)


def test_drop_occluded_misses_occluded_joints_only(truth):
    visibility = np.random.default_rng(3).random(truth.shape[:2]) < 0.7
    estimate = simulate_expert(truth, ExpertErrors(drop_occluded=1.0), visibility=visibility)
    np.testing.assert_array_equal(np.isnan(estimate).all(axis=-1), ~visibility)
    np.testing.assert_array_equal(estimate[visibility], truth[visibility])
    half = simulate_expert(truth, ExpertErrors(drop_occluded=0.5), visibility=visibility)
    assert np.isnan(half[~visibility, 0]).mean() == pytest.approx(0.5, abs=0.02)


def test_side_pairs_match_left_and_right_names():
    pairs = {(PENN.joints[left], PENN.joints[right]) for left, right in side_pairs(PENN.joints)}
    assert ("left_wrist", "right_wrist") in pairs and len(pairs) == 6  # shoulders .. ankles; head has no side


def test_swaps_exchange_left_and_right(truth):
    always = simulate_expert(truth, ExpertErrors(swap_rate=1.0), joints=PENN.joints)
    for left, right in side_pairs(PENN.joints):
        np.testing.assert_array_equal(always[:, left], truth[:, right])
        np.testing.assert_array_equal(always[:, right], truth[:, left])
    np.testing.assert_array_equal(always[:, PENN.index("head")], truth[:, PENN.index("head")])
    sometimes = simulate_expert(truth, ExpertErrors(swap_rate=0.3), joints=PENN.joints, seed=4)
    left, right = np.array(side_pairs(PENN.joints)).T
    swapped = (sometimes[:, left] == truth[:, right]).all(axis=-1)
    kept = (sometimes[:, left] == truth[:, left]).all(axis=-1)
    assert (swapped ^ kept).all() and swapped.mean() == pytest.approx(0.3, abs=0.02)


def test_missed_persons_blank_whole_frames_in_runs(truth):
    estimate = simulate_expert(truth, ExpertErrors(miss_person_rate=0.2, miss_person_run=5), seed=5)
    blank = np.isnan(estimate).all(axis=(1, 2))
    np.testing.assert_array_equal(np.isnan(estimate).any(axis=(1, 2)), blank)  # whole frames or nothing
    assert blank.mean() == pytest.approx(0.2, abs=0.05)
    runs = np.diff(np.flatnonzero(np.diff(np.r_[0, blank.astype(int), 0])))[::2]  # lengths of the blank runs
    assert runs.mean() > 3
    np.testing.assert_array_equal(estimate[~blank], truth[~blank])


def test_border_truncation_misses_or_clamps_outside_joints(truth):
    image = (250, 280)  # (width, height): part of the truth (100..300) is outside
    outside = (truth[..., 0] > 250) | (truth[..., 1] > 280)
    missed = simulate_expert(truth, ExpertErrors(border="nan"), image_size=image)
    np.testing.assert_array_equal(np.isnan(missed).all(axis=-1), outside)
    np.testing.assert_array_equal(missed[~outside], truth[~outside])
    clamped = simulate_expert(truth, ExpertErrors(border="clamp"), image_size=image)
    np.testing.assert_array_equal(clamped, np.minimum(truth, image))
    margin = simulate_expert(truth, ExpertErrors(border="nan", border_margin=0.5), image_size=(400, 400))
    assert np.isnan(margin).all()  # a margin of half the image leaves nothing inside


def test_flicker_jumps_single_joints_by_the_scale(truth):
    estimate = simulate_expert(truth, ExpertErrors(flicker_rate=0.05, flicker_scale=0.5), seed=6)
    jump = np.hypot(*(estimate - truth).transpose(2, 0, 1))
    moved = jump > 0
    assert moved.mean() == pytest.approx(0.05, abs=0.01)
    np.testing.assert_allclose(jump[moved], 0.5 * np.broadcast_to(person_size(truth)[:, None], moved.shape)[moved])


def test_seeded_and_independent_per_expert(truth):
    experts = [ExpertErrors(jitter=0.02), ExpertErrors(jitter=0.02)]
    first = simulate_experts(truth, experts, seed=7)
    np.testing.assert_array_equal(first, simulate_experts(truth, experts, seed=7))
    assert first.shape == (2,) + truth.shape and not np.array_equal(first[0], first[1])
    assert not np.array_equal(first, simulate_experts(truth, experts, seed=8))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"errors": ExpertErrors(swap_rate=0.1)}, "needs the joint names"),
        ({"errors": ExpertErrors(swap_rate=0.1), "joints": get_layout("coco-17").joints}, "17 joint names"),
        ({"errors": ExpertErrors(border="nan")}, "needs image_size"),
    ],
)
def test_missing_context_raises_refine_error(truth, kwargs, message):
    with pytest.raises(RefineError, match=message):
        simulate_expert(truth, **kwargs)


def test_bad_settings_raise_refine_error():
    with pytest.raises(RefineError, match="border"):
        ExpertErrors(border="wrap")
    with pytest.raises(RefineError, match="miss_person_rate"):
        ExpertErrors(miss_person_rate=1.0)
