"""OpenPose --write_json reader: one clip per video prefix, frame numbers, layout from the keypoint count."""

import json

import numpy as np
import pytest

from posekit.errors import InputError
from posekit.importers.openpose import read_openpose


def _person(num_joints: int, offset: float, confidence: float, missing=()):
    values = []
    for j in range(num_joints):
        values += [0.0, 0.0, 0.0] if j in missing else [offset + j, offset + 100 + j, confidence]
    return {
        "person_id": [-1],
        "pose_keypoints_2d": values,
        "face_keypoints_2d": [],
        "hand_left_keypoints_2d": [],
        "hand_right_keypoints_2d": [],
        "pose_keypoints_3d": [],
        "face_keypoints_3d": [],
    }


def _frame(folder, video: str, number: int, people):
    path = folder / f"{video}_{number:012d}_keypoints.json"
    path.write_text(json.dumps({"version": 1.3, "people": people}))
    return path


def test_one_clip_per_video_prefix(tmp_path):
    _frame(tmp_path, "walk", 0, [_person(25, 10, 0.5), _person(25, 20, 0.9, missing=(3,))])
    _frame(tmp_path, "walk", 1, [])
    _frame(tmp_path, "walk", 3, [_person(25, 30, 0.4)])
    _frame(tmp_path, "run_2", 5, [_person(25, 40, 0.8)])
    dataset = read_openpose([tmp_path], fps=25)
    clips = {c.id: c for c in dataset.clips}
    assert dataset.layout.name == "openpose-25" and set(clips) == {"walk", "run_2"}
    walk = clips["walk"]
    assert walk.keypoints.shape == (4, 2, 25, 2) and walk.frame_index.tolist() == [0, 1, 2, 3]
    np.testing.assert_array_equal(walk.keypoints[0, 0, 5], [25, 125])  # the 0.9 person ranks first
    np.testing.assert_array_equal(walk.keypoints[0, 1, 5], [15, 115])
    assert np.isnan(walk.keypoints[0, 0, 3]).all() and walk.scores[0, 0, 3] == 0  # c == 0 is missing
    assert np.isnan(walk.keypoints[1:3]).all()  # an empty frame and a frame without a file
    assert walk.fps == 25
    assert clips["run_2"].frame_index.tolist() == [5]


def test_eighteen_keypoints_and_max_persons(tmp_path):
    _frame(tmp_path, "v", 0, [_person(18, 0, 0.3), _person(18, 50, 0.6), _person(18, 90, 0.1)])
    dataset = read_openpose([tmp_path], max_persons=1)
    [clip] = list(dataset.clips)
    assert dataset.layout.name == "openpose-18" and clip.keypoints.shape == (1, 1, 18, 2)
    np.testing.assert_array_equal(clip.keypoints[0, 0, 0], [50, 150])


def test_unknown_keypoint_count_needs_a_layout(tmp_path):
    _frame(tmp_path, "v", 0, [_person(11, 0, 0.3)])
    with pytest.raises(InputError, match="11 keypoints"):
        read_openpose([tmp_path])


def test_malformed_frame_names_the_file(tmp_path):
    _frame(tmp_path, "v", 0, [_person(25, 0, 0.3)])
    bad = tmp_path / "v_000000000001_keypoints.json"
    bad.write_text('{"people": [{"pose_keypoints_2d": [1, 2')
    with pytest.raises(InputError, match="v_000000000001_keypoints.json"):
        list(read_openpose([tmp_path]).clips)
    bad.write_text(json.dumps({"people": [_person(18, 0, 0.3)]}))
    with pytest.raises(InputError, match="v_000000000001_keypoints.json.*18 keypoints"):
        list(read_openpose([tmp_path]).clips)


def test_video_without_people_is_skipped(tmp_path):
    _frame(tmp_path, "empty", 0, [])
    _frame(tmp_path, "full", 0, [_person(25, 0, 0.3)])
    assert [c.id for c in read_openpose([tmp_path]).clips] == ["full"]
