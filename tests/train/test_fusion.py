"""``posekit fuse`` on score files that are not what they claim: hostile pickles and wrong shapes."""

import pickle

import numpy as np
from click.testing import CliRunner

from posekit.cli import main
from tests.crafted import CreatesMarker, assert_one_line_error


def _scores(path, **fields):
    run = {
        "ids": ["x", "y"],
        "labels": np.array([0, 1]),
        "scores": np.array([[0.9, 0.1], [0.2, 0.8]]),
        "classes": ["p", "q"],
        **fields,
    }
    path.write_bytes(pickle.dumps(run))
    return path


def _fuse(tmp_path, *paths):
    return CliRunner().invoke(main, ["fuse", *map(str, paths), "-o", str(tmp_path / "fused.pkl")])


def test_a_scores_pickle_that_calls_code_is_refused(tmp_path):
    marker = tmp_path / "ran"
    evil = _scores(tmp_path / "evil.pkl", scores=CreatesMarker(marker))
    result = _fuse(tmp_path, _scores(tmp_path / "good.pkl"), evil)
    assert_one_line_error(result)
    assert "evil.pkl: not a readable data pickle" in result.output and "refusing to load" in result.output
    assert not marker.exists() and not (tmp_path / "fused.pkl").exists()


def test_scores_of_the_wrong_shape_name_the_file(tmp_path):
    flat = _scores(tmp_path / "flat.pkl", scores=np.array([0.9, 0.2]))
    result = _fuse(tmp_path, _scores(tmp_path / "good.pkl"), flat)
    assert_one_line_error(result)
    assert "flat.pkl: not a posekit scores file (scores float64 (2,)" in result.output
    short = _scores(tmp_path / "short.pkl", labels=np.array([0]))
    assert "short.pkl: not a posekit scores file" in _fuse(tmp_path, short, short).output
