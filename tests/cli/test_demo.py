from click.testing import CliRunner

from posekit.cli import main
from posekit.store import SkeletonStore
from posekit.store.validate import validate


def test_demo_builds_a_valid_store_from_sample_files(tmp_path):
    for _ in range(2):  # a second run replaces the first one's outputs
        result = CliRunner().invoke(main, ["demo", "-o", str(tmp_path)])
        assert result.exit_code == 0, result.output
    assert f"store: {(tmp_path / 'sample.h5').resolve()}" in result.output
    assert validate(tmp_path / "sample.h5") == []
    store = SkeletonStore(tmp_path / "sample.h5")
    assert len(store) == 48 and store.classes == ["wave", "squat", "jump", "walk"]
    assert {k: len(v) for k, v in store.splits.items()} == {"train": 36, "test": 12}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sample.h5", "sample_npz"]
