import numpy as np
import pytest

from posekit.rodent.kinematics.filtering import clean, drop_low_confidence, fill_gaps, runs, smooth


def test_low_confidence_joints_become_missing_and_unknown_scores_are_kept():
    kp = np.arange(2 * 1 * 3 * 2, dtype=np.float32).reshape(2, 1, 3, 2)
    scores = np.array([[[0.9, 0.5, np.nan]], [[0.59, 0.6, 1.0]]], np.float32)
    out = drop_low_confidence(kp, scores, 0.6)
    assert np.isnan(out[0, 0, 1]).all() and np.isnan(out[1, 0, 0]).all()
    kept = ~np.isnan(out).any(-1)
    assert kept.tolist() == [[[True, False, True]], [[False, True, True]]]
    np.testing.assert_array_equal(out[kept], kp[kept])
    assert not np.isnan(kp).any()  # the input is left alone


def test_runs_of_true():
    assert runs(np.array([0, 1, 1, 0, 1, 0, 0, 1], bool)) == [(1, 3), (4, 5), (7, 8)]


def test_short_gaps_are_filled_linearly_and_long_gaps_and_ends_stay_missing():
    x = np.array([np.nan, 0, np.nan, np.nan, 6, 7, np.nan, np.nan, np.nan, 11, np.nan])
    out = fill_gaps(x, max_gap=2)
    # gap of 2 between 0 and 6: 2, 4; gap of 3 stays; the ends are never extrapolated
    np.testing.assert_allclose(out[1:6], [0, 2, 4, 6, 7])
    assert np.isnan(out[[0, 6, 7, 8, 10]]).all() and out[9] == 11
    np.testing.assert_allclose(fill_gaps(x, max_gap=3)[5:10], [7, 8, 9, 10, 11])


def test_gaps_are_filled_per_series():
    x = np.zeros((5, 2))
    x[:, 0] = [0, np.nan, 2, 3, 4]
    x[:, 1] = [10, np.nan, np.nan, np.nan, 50]
    out = fill_gaps(x, max_gap=1)
    assert out[1, 0] == 1 and np.isnan(out[1:4, 1]).all()


def test_savgol_reproduces_a_quadratic_exactly_including_the_edges():
    t = np.arange(30, dtype=np.float64)
    quadratic = 0.5 * t**2 - 3 * t + 7
    np.testing.assert_allclose(smooth(quadratic, "savgol", window=7, polyorder=2), quadratic, rtol=1e-5, atol=1e-4)


def test_smoothing_never_crosses_a_gap_and_short_runs_get_a_shorter_window():
    t = np.arange(20, dtype=np.float64)
    x = np.where(t < 10, t**2, 1000 - t**2)  # two parabolas; a window across the gap would mix them
    x[10] = np.nan
    x[15] = np.nan
    out = smooth(x, "savgol", window=9, polyorder=2)
    assert np.isnan(out[[10, 15]]).all()
    valid = ~np.isnan(x)
    np.testing.assert_allclose(out[valid], x[valid], rtol=1e-4, atol=1e-4)  # 4-frame runs use window 3: still exact


def test_median_removes_a_single_outlier():
    x = np.array([1, 1, 1, 50, 1, 1, 1], np.float64)
    np.testing.assert_array_equal(smooth(x, "median", window=3), np.ones(7))
    with pytest.raises(ValueError, match="unknown smoother"):
        smooth(x, "kalman")


def test_clean_counts_what_it_removed_and_filled():
    kp = np.tile(np.arange(6, dtype=np.float32)[:, None, None, None], (1, 1, 2, 2))
    scores = np.ones((6, 1, 2), np.float32)
    scores[2, 0, 0] = 0.1  # a one-frame gap: filled back to the line
    scores[1:5, 0, 1] = 0.1  # four frames: too long for max_gap 2
    out, counts = clean(kp, scores, min_confidence=0.5, max_gap=2, smoother="none")
    assert counts == {"removed": 5, "filled": 1, "missing": 4, "total": 12}
    np.testing.assert_allclose(out[:, 0, 0, 0], np.arange(6))
    assert np.isnan(out[1:5, 0, 1]).all()
