"""Future-position labels of seed 000 on hand-computed cases, and the labelled store they produce."""

import json

import h5py
import numpy as np
import pytest
from click.testing import CliRunner

from posekit.cli import main
from posekit.layouts import Layout
from posekit.rodent.ratpose.labels import (
    CENTRE_LAYOUT,
    CLASSES,
    CONVENTIONS,
    body_centre,
    clip_meta,
    clip_text,
    constant_velocity_classes,
    direction_classes,
    frame_classes,
    future_position_classes,
    label_store,
)
from posekit.store import Clip, SkeletonStore, StoreError, StoreWriter
from posekit.store.validate import validate

SCREEN, PAPER = CONVENTIONS["screen"], CONVENTIONS["paper"]


def names(vectors, radius=5.0, convention=SCREEN):
    return [CLASSES[k] if k >= 0 else None for k in direction_classes(np.array(vectors, float), radius, convention)]


def test_each_sector_in_pixel_coordinates():
    # pixels: y grows downwards, so (0, -10) moves towards the top of the image
    assert names([(10, 0), (0, -10), (-10, 0), (0, 10), (10, -3), (-2, 9)]) == [
        "right",
        "up",
        "left",
        "down",
        "right",
        "down",
    ]


def test_sector_boundaries_go_counterclockwise():
    # 45 deg (up-right on the image) -> up, 135 -> left, 225 -> down, 315 -> right
    assert names([(10, -10), (-10, -10), (-10, 10), (10, 10)]) == ["up", "left", "down", "right"]


def test_middle_disc_includes_its_edge():
    assert names([(3, 4), (0, 0), (3, 4.01), (-4.9, 0)]) == ["middle", "middle", "down", "middle"]


def test_missing_positions_are_unlabelled():
    assert names([(np.nan, 1.0), (1.0, np.nan)]) == [None, None]


def test_y_up_and_paper_conventions():
    assert names([(0, 10), (0, -10)], convention=CONVENTIONS["screen-y-up"]) == ["up", "down"]
    # the paper's table: theta in (3pi/4, 5pi/4) is "up", i.e. a move to the left of the image
    assert names([(-10, 0), (10, 0), (0, -10), (0, 10)], convention=PAPER) == ["up", "down", "right", "left"]
    assert names([(-10, 0), (0, 10)], convention=CONVENTIONS["paper-y-up"]) == ["up", "right"]


def test_future_frame_by_video_index_with_gap_and_clip_end():
    # fps 2, horizon 1 s -> 2 video frames ahead; video frame 4 is missing (gap)
    frame_index = np.array([0, 1, 2, 3, 5, 6, 7])
    positions = np.array([[0, 0], [0, 0], [20, 0], [0, 0], [0, 0], [1, 1], [np.nan, np.nan]], float)
    labels = future_position_classes(positions, frame_index, fps=2.0, horizon=1.0, radius=5.0, convention=SCREEN)
    # 0 -> 2: +20 x right; 1 -> 3: still; 2 -> 4: absent; 3 -> 5: still; 5 -> 7: NaN; 6, 7: past the end
    assert [CLASSES[k] if k >= 0 else None for k in labels] == ["right", "middle", None, "middle", None, None, None]


def test_constant_velocity_extrapolates_the_window():
    positions = np.array([[0, 0], [1, 0], [2, 0], [3, 0], [3, 0], [3, 0]], float)
    # window of 2 frames ending at 3: 1 px/frame right, 10 frames ahead -> 10 px > 5: right; at 5: still
    assert constant_velocity_classes(positions, np.array([3, 5]), 2, 10, 5.0, SCREEN).tolist() == [
        CLASSES.index("right"),
        CLASSES.index("middle"),
    ]


def test_body_centre_without_a_centre_joint_is_the_mean_of_valid_joints():
    layout = Layout(name="two", joints=("nose", "tail"))
    kp = np.array([[[[0, 0], [4, 2]]], [[[2, 2], [np.nan, np.nan]]]], float)
    assert body_centre(kp, layout).tolist() == [[2, 1], [2, 2]]


def test_clip_meta_round_trip_and_error():
    assert clip_meta(clip_text("maze", "s1", "C", "medium")) == {
        "scenario": "maze",
        "session": "s1",
        "individual": "C",
        "difficulty": "medium",
    }
    with pytest.raises(StoreError, match="x.h5: clip 'a'.*scenario, session, individual, difficulty"):
        clip_meta('{"scenario": "maze"}', "x.h5: clip 'a'")


def write_store(path, fps=2.0, image_size=(100, 50)):
    # 6 frames; radius 0.1 x 100 = 10 px; horizon 1 s = 2 frames
    x = np.array([0, 0, 30, 30, 30, 45], np.float32)
    y = np.array([20, 20, 20, 5, 20, 20], np.float32)
    with StoreWriter(path, layout=CENTRE_LAYOUT, coord_dims=2) as w:
        w.add(
            Clip(
                id="a",
                keypoints=np.stack([x, y], 1)[:, None, None],
                fps=fps,
                image_size=image_size,
                text=clip_text("open_field", "s1", "A", "easy"),
                splits=("train",),
            )
        )


def test_label_store_writes_one_hot_labels(tmp_path):
    write_store(tmp_path / "s.h5")
    counts = label_store(tmp_path / "s.h5", tmp_path / "l.h5", horizon=1.0)
    # 0 -> 2: +30 x right; 1 -> 3: (30, -15) right; 2 -> 4: still; 3 -> 5: (15, 15) 315 deg -> right
    assert counts == {"up": 0, "down": 0, "left": 0, "right": 3, "middle": 1, "unlabelled": 2}
    assert validate(tmp_path / "l.h5") == []
    with SkeletonStore(tmp_path / "l.h5") as s:
        assert s.classes == list(CLASSES)
        assert frame_classes(s, 0).tolist() == [3, 3, 4, 3, -1, -1]
        assert s.frames(0, ("labels",))["labels"].sum(axis=1).tolist() == [1, 1, 1, 1, 0, 0]
        assert s.provenance[-1]["step"] == "ratpose-label" and s.provenance[-1]["horizon_s"] == 1.0
        assert s[0].splits == ("train",) and json.loads(s[0].text)["scenario"] == "open_field"
    with h5py.File(tmp_path / "s.h5") as f:  # the source is left as it was
        assert "labels" not in f["frames"]
    with h5py.File(tmp_path / "l.h5") as f:  # checked as the writer's datasets are
        assert f["frames/keypoints"].fletcher32 and f["frames/labels"].fletcher32


def test_label_command_and_its_errors(tmp_path):
    write_store(tmp_path / "s.h5")
    runner = CliRunner()
    result = runner.invoke(
        main,
        [
            "rodent",
            "label",
            str(tmp_path / "s.h5"),
            "-o",
            str(tmp_path / "l.h5"),
            "--horizon",
            "1",
            "--convention",
            "paper",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "right 0" in result.output and "down 3" in result.output and str(tmp_path / "l.h5") in result.output
    again = runner.invoke(main, ["rodent", "label", str(tmp_path / "s.h5"), "-o", str(tmp_path / "l.h5")])
    assert again.exit_code == 2 and "exists" in again.output
    write_store(tmp_path / "nofps.h5", fps=float("nan"))
    bad = runner.invoke(main, ["rodent", "label", str(tmp_path / "nofps.h5"), "-o", str(tmp_path / "x.h5")])
    assert bad.exit_code == 2
    assert bad.output.startswith(f"posekit: error: {tmp_path / 'nofps.h5'}: clip 'a' has no fps")
    assert not (tmp_path / "x.h5").exists() and not list(tmp_path.glob(".x.h5*"))


def test_label_a_real_deeplabcut_file(tmp_path):
    """B-SOiD's open-field mouse (DLC csv, 30 fps, 1280x720 video): 6 body parts without a skeleton, so the
    body centre is their mean; the last 3 s have no future."""
    import csv

    from tests.conftest import real_file

    source = real_file("animal/bsoid_dlc/raw_clip1DLC_resnet50_OpenFieldHighResApr8shuffle1_1030000.csv")
    runner = CliRunner()
    converted = runner.invoke(main, ["convert", "dlc", str(source), "-o", str(tmp_path / "dlc.h5"), "--fps", "30"])
    assert converted.exit_code == 0, converted.output
    result = runner.invoke(
        main, ["rodent", "label", str(tmp_path / "dlc.h5"), "-o", str(tmp_path / "l.h5"), "--image-size", "1280", "720"]
    )
    assert result.exit_code == 0, result.output
    with open(source) as f:
        rows = [list(map(float, row[1:])) for row in list(csv.reader(f))[3:]]
    centre = np.array([[np.mean(r[0::3]), np.mean(r[1::3])] for r in rows])  # x, y, likelihood per part
    with SkeletonStore(tmp_path / "l.h5") as s:
        labels = frame_classes(s, 0)
        assert (s.column("image_size") == [1280, 720]).all()
    assert len(labels) == 7200 and (labels[-90:] == -1).all() and (labels[:-90] >= 0).all()
    for t in (0, 1000, 5000):
        dx, dy = centre[t + 90] - centre[t]
        if np.hypot(dx, dy) <= 128:
            expected = "middle"
        elif abs(dx) > abs(dy):
            expected = "right" if dx > 0 else "left"
        else:
            expected = "down" if dy > 0 else "up"
        assert CLASSES[labels[t]] == expected
    assert len(set(labels[:-90].tolist())) >= 3  # a mouse exploring an open field goes several ways
