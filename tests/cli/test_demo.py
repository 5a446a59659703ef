import numpy as np
from click.testing import CliRunner

from posekit.cli import main
from posekit.store import SkeletonStore
from posekit.store.validate import validate


def test_demo_builds_a_valid_store_from_sample_files(tmp_path):
    for _ in range(2):  # a second run replaces the first one's outputs
        result = CliRunner().invoke(main, ["demo", "-o", str(tmp_path), "--no-train"])
        assert result.exit_code == 0, result.output
    assert f"store: {(tmp_path / 'sample.h5').resolve()}" in result.output
    assert validate(tmp_path / "sample.h5") == []
    store = SkeletonStore(tmp_path / "sample.h5")
    assert len(store) == 96 and store.classes == ["wave", "squat", "jump", "walk"]
    assert {k: len(v) for k, v in store.splits.items()} == {"train": 72, "test": 24}
    test_labels = store.labels[store.split("test")]
    assert np.bincount(test_labels).tolist() == [6, 6, 6, 6]  # every action is tested
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sample.h5", "sample_npz"]
