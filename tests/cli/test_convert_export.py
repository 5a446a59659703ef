import numpy as np
from click.testing import CliRunner

from posekit.cli import main
from posekit.store import SkeletonStore
from tests.conftest import real_file


def run(*args):
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return result.output


def test_penn_action_to_pyskl_and_back(tmp_path):
    """A real dataset through convert -> export pyskl -> convert pyskl keeps joints, labels and splits."""
    labels = real_file("actions/penn_action/labels")
    sources = [labels / f"{i:04d}.mat" for i in (1, 2, 1500, 2000)]
    out = run("convert", "penn-action", *sources, "-o", tmp_path / "penn.h5", "--compression", "gzip")
    assert "converted 4 clips" in out
    run("store", "export", tmp_path / "penn.h5", "--format", "pyskl", "-o", tmp_path / "penn.pkl")
    run("convert", "pyskl", tmp_path / "penn.pkl", "-o", tmp_path / "back.h5", "--layout", "penn-13")
    first, back = SkeletonStore(tmp_path / "penn.h5"), SkeletonStore(tmp_path / "back.h5")
    assert list(first.ids) == list(back.ids) and list(first.labels) == list(back.labels)
    assert {k: list(v) for k, v in first.splits.items()} == {k: list(v) for k, v in back.splits.items()}
    for i in range(4):
        a, b = first[i], back[i]
        valid = ~np.isnan(a.keypoints)
        np.testing.assert_allclose(b.keypoints[valid], a.keypoints[valid], rtol=1e-6)
