"""Kinetics-skeleton (ST-GCN JSON) reader on a folder laid out as the released data set."""

import json

import numpy as np
import pytest

from posekit.errors import InputError
from posekit.importers.kinetics_skeleton import read_kinetics_skeleton


def _person(offset: float, score: float, missing=()):
    pose = [round(offset + 0.01 * i, 3) for i in range(36)]
    scores = [score] * 18
    for j in missing:
        pose[2 * j] = pose[2 * j + 1] = 0.0
        scores[j] = 0.0
    return {"pose": pose, "score": scores}


def _video(folder, name, frames, label="abseiling", index=0):
    data = {
        "data": [{"frame_index": i, "skeleton": people} for i, people in frames],
        "label": label,
        "label_index": index,
    }
    (folder / f"{name}.json").write_text(json.dumps(data))


@pytest.fixture
def released(tmp_path):
    """kinetics_train/ + kinetics_val/ with their label files, as ST-GCN distributes Kinetics-skeleton."""
    train, val = tmp_path / "kinetics_train", tmp_path / "kinetics_val"
    train.mkdir(), val.mkdir()
    # frame 2 has three people; the weakest (score 0.2) is dropped with max_persons 2; frame 3 has no file entry
    _video(
        train,
        "vidA",
        [
            (1, [_person(0.1, 0.5, missing=(4,))]),
            (2, [_person(0.2, 0.2), _person(0.3, 0.9), _person(0.4, 0.6)]),
            (4, [_person(0.5, 0.7)]),
        ],
        label="air drumming",
        index=2,
    )
    _video(train, "vidB", [(1, [_person(0.1, 0.5)])], label="abseiling", index=0)
    _video(val, "vidC", [(1, [_person(0.1, 0.5)])], label="air drumming", index=2)
    _video(val, "vidD", [], label="abseiling", index=0)
    (tmp_path / "kinetics_train_label.json").write_text(
        json.dumps(
            {
                "vidA": {"has_skeleton": True, "label": "air drumming", "label_index": 2},
                "vidB": {"has_skeleton": False, "label": "abseiling", "label_index": 0},
            }
        )
    )
    (tmp_path / "kinetics_val_label.json").write_text(
        json.dumps(
            {
                "vidC": {"has_skeleton": True, "label": "air drumming", "label_index": 2},
                "vidD": {"has_skeleton": True, "label": "abseiling", "label_index": 0},
            }
        )
    )
    return tmp_path


def test_released_layout(released):
    dataset = read_kinetics_skeleton([released])
    clips = {c.id: c for c in dataset.clips}
    assert set(clips) == {"vidA", "vidC"}  # vidB: has_skeleton false; vidD: no frame at all
    assert dataset.classes == ["abseiling", "class_1", "air drumming"]
    assert dataset.layout.name == "openpose-18" and dataset.coordinates == "normalised"
    a = clips["vidA"]
    assert a.splits == ("train",) and clips["vidC"].splits == ("val",) and a.label == 2
    assert a.keypoints.shape == (4, 2, 18, 2) and a.frame_index.tolist() == [1, 2, 3, 4]
    # frame 2: people ranked by summed score: 0.9 first, 0.6 second, 0.2 dropped
    np.testing.assert_allclose(a.keypoints[1, 0, 0], [0.3, 0.31])
    np.testing.assert_allclose(a.keypoints[1, 1, 17], [0.4 + 0.34, 0.4 + 0.35], rtol=1e-6)
    np.testing.assert_allclose(a.scores[1, :, 0], [0.9, 0.6])
    assert np.isnan(a.keypoints[0, 0, 4]).all() and a.scores[0, 0, 4] == 0  # zero = missing
    assert np.isnan(a.keypoints[2]).all()  # frame 3 has no entry
    assert a.fps == 30 and a.image_size == (340, 256)


def test_without_label_files_labels_come_from_the_videos(tmp_path):
    _video(tmp_path, "v1", [(1, [_person(0.1, 0.5)])], label="bowling", index=1)
    dataset = read_kinetics_skeleton([tmp_path], max_persons=1)
    [clip] = list(dataset.clips)
    assert dataset.classes == ["class_0", "bowling"] and clip.label == 1 and clip.splits == ()


def test_label_names_file(tmp_path):
    _video(tmp_path, "v1", [(1, [_person(0.1, 0.5)])], index=1)
    (tmp_path / "label_name.txt").write_text("abseiling\nair drumming\n")
    dataset = read_kinetics_skeleton([tmp_path / "v1.json"], label_names=tmp_path / "label_name.txt")
    assert dataset.classes == ["abseiling", "air drumming"]
    assert read_kinetics_skeleton([tmp_path]).classes == ["abseiling", "air drumming"]  # found in the folder


@pytest.mark.parametrize(
    "text",
    [
        '{"data": [{"frame_index": 1, "skeleton": [{"pose": [0.1, 0.2]',
        "",
        '{"data": [{"frame_index": 1, "skeleton": [{"pose": [0.1, 0.2], "score": [1]}]}], "label_index": 0}',
    ],
)
def test_malformed_video_names_the_file(tmp_path, text):
    (tmp_path / "broken.json").write_text(text)
    with pytest.raises(InputError, match="broken.json"):
        list(read_kinetics_skeleton([tmp_path / "broken.json"], label_names=None).clips)
