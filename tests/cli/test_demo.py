import numpy as np
import pandas as pd
from click.testing import CliRunner

from posekit.cli import main
from posekit.store import SkeletonStore
from posekit.store.validate import validate


def test_demo_builds_a_valid_store_from_sample_files(tmp_path):
    for _ in range(2):  # a second run replaces the first one's outputs
        result = CliRunner().invoke(main, ["demo", "-o", str(tmp_path), "--no-train", "--force"])
        assert result.exit_code == 0, result.output
    assert f"store: {(tmp_path / 'sample.h5').resolve()}" in result.output
    assert validate(tmp_path / "sample.h5") == []
    store = SkeletonStore(tmp_path / "sample.h5")
    assert len(store) == 96 and store.classes == ["wave", "squat", "jump", "walk"]
    assert {k: len(v) for k, v in store.splits.items()} == {"train": 72, "test": 24}
    test_labels = store.labels[store.split("test")]
    assert np.bincount(test_labels).tolist() == [6, 6, 6, 6]  # every action is tested
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "mouse.h5",
        "mouse.png",
        "mouse_dlc.csv",
        "mouse_kinematics.csv",
        "mouse_per_minute.csv",
        "mouse_summary.csv",
        "proposals.h5",
        "refine_report",
        "refined.h5",
        "sample.h5",
        "sample_npz",
        "sample_video.mp4",
        "sample_video_refined.mp4",
    ]
    # The sample mouse runs 1.2 rad/s on a 100 px circle for 16 s and pauses for 4 s: 1,920 px, plus jitter.
    summary = pd.read_csv(tmp_path / "mouse_summary.csv").iloc[0]
    assert 1900 < summary["path_length"] < 2100 and abs(summary["still_s"] - 4.0) < 0.5


def test_demo_extracts_and_refines_the_person_in_its_sample_video(tmp_path):
    result = CliRunner().invoke(main, ["demo", "-o", str(tmp_path), "--no-train"])
    assert result.exit_code == 0, result.output
    proposals, refined = SkeletonStore(tmp_path / "proposals.h5"), SkeletonStore(tmp_path / "refined.h5")
    assert sorted(proposals.ids) == [
        "sample_video@blazepose-detector",
        "sample_video@blazepose-detector+flip",
        "sample_video@blazepose-detector+scale0.75",
    ]
    assert len(refined) == 1 and validate(tmp_path / "refined.h5") == []
    clip = refined[0]
    upper_body = [refined.layout.index(j) for j in ("nose", "neck", "left_shoulder", "right_shoulder")]
    x, y = clip.keypoints[:, 0, upper_body, 0], clip.keypoints[:, 0, upper_body, 1]
    width, height = clip.image_size
    inside = (x >= 0) & (x < width) & (y >= 0) & (y < height)  # NaN (missing) is never inside
    assert clip.num_frames == 12 and inside.all(axis=1).mean() > 0.5  # the portrait's head and shoulders
    assert [s["step"] for s in refined.provenance][-2:] == ["extract", "refine"]


def test_demo_into_an_existing_file_is_one_line_even_forced(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    for force in ([], ["--force"]):
        result = CliRunner().invoke(main, ["demo", "-o", str(tmp_path / "notes.txt"), "--no-train", *force])
        assert result.exit_code == 2 and result.output == (
            f"posekit: error: {tmp_path / 'notes.txt'}: exists and is not a folder; the demo writes its outputs "
            "into a folder\n"
        )
    assert (tmp_path / "notes.txt").read_text() == "mine"
