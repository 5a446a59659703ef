"""COCO keypoint JSON reader: one clip per image, PoseTrack videos grouped by track, custom categories."""

import json

import numpy as np
import pytest

from posekit.errors import InputError
from posekit.importers.coco import read_coco
from tests.conftest import real_file

CATEGORY = {
    "id": 1,
    "name": "person",
    "supercategory": "person",
    "keypoints": [
        "nose",
        "left_eye",
        "right_eye",
        "left_ear",
        "right_ear",
        "left_shoulder",
        "right_shoulder",
        "left_elbow",
        "right_elbow",
        "left_wrist",
        "right_wrist",
        "left_hip",
        "right_hip",
        "left_knee",
        "right_knee",
        "left_ankle",
        "right_ankle",
    ],
    "skeleton": [[16, 14], [14, 12], [17, 15], [15, 13], [12, 13], [6, 12], [7, 13], [6, 7]],
}


def _keypoints(offset: float, hidden=(), unlabelled=()):
    values = []
    for j in range(17):
        v = 0 if j in unlabelled else 1 if j in hidden else 2
        values += [0, 0, 0] if v == 0 else [offset + j, offset + 2 * j, v]
    return values


def test_images_are_one_frame_clips(tmp_path):
    data = {
        "images": [
            {"id": 7, "file_name": "000000000007.jpg", "width": 640, "height": 480},
            {"id": 8, "file_name": "000000000008.jpg", "width": 320, "height": 200},
        ],
        "annotations": [
            {
                "id": 1,
                "image_id": 7,
                "category_id": 1,
                "bbox": [10, 20, 30, 40],
                "keypoints": _keypoints(100, hidden=(2,), unlabelled=(5,)),
            },
            {"id": 2, "image_id": 7, "category_id": 1, "bbox": [1, 2, 3, 4], "keypoints": _keypoints(300)},
            {"id": 3, "image_id": 8, "category_id": 1, "iscrowd": 1, "keypoints": []},
        ],
        "categories": [CATEGORY],
    }
    (tmp_path / "person_keypoints.json").write_text(json.dumps(data))
    dataset = read_coco([tmp_path / "person_keypoints.json"])
    [clip] = list(dataset.clips)  # image 8 holds only a crowd region without keypoints
    assert dataset.layout.name == "coco-17" and clip.id == "000000000007" and clip.image_size == (640, 480)
    assert clip.keypoints.shape == (1, 2, 17, 2)
    np.testing.assert_array_equal(clip.keypoints[0, 0, 3], [103, 106])
    np.testing.assert_array_equal(clip.keypoints[0, 1, 16], [316, 332])
    assert np.isnan(clip.keypoints[0, 0, 5]).all() and clip.scores[0, 0, 5] == 0
    assert clip.scores[0, 0, 2] == 0.5 and clip.scores[0, 0, 3] == 1.0
    np.testing.assert_array_equal(clip.box[0, 0], [10, 20, 40, 60])


def test_posetrack_videos_are_grouped_by_track(tmp_path):
    category = {
        **CATEGORY,
        "skeleton": [[1, 2], [2, 3]],
        "keypoints": ["nose", "head_bottom", "head_top"] + CATEGORY["keypoints"][3:],
    }
    images = [
        {
            "id": 10 + f,
            "file_name": f"images/val/000342_mpii/{f:06d}.jpg",
            "vid_id": "000342",
            "frame_id": 10003420000 + f,
            "width": 1280,
            "height": 720,
        }
        for f in (2, 0, 1)
    ]
    annotations = [
        {"image_id": 10, "category_id": 1, "track_id": 4, "keypoints": _keypoints(40)},
        {"image_id": 12, "category_id": 1, "track_id": 9, "keypoints": _keypoints(90)},
        {"image_id": 12, "category_id": 1, "track_id": 4, "keypoints": _keypoints(42)},
    ]
    (tmp_path / "val.json").write_text(
        json.dumps({"images": images, "annotations": annotations, "categories": [category]})
    )
    dataset = read_coco([tmp_path / "val.json"])
    [clip] = list(dataset.clips)
    assert dataset.layout.joints[:3] == ("nose", "head_bottom", "head_top")
    bones = {frozenset(pair) for pair in dataset.layout.parents.items()}
    assert bones == {frozenset(("nose", "head_bottom")), frozenset(("head_bottom", "head_top"))}
    assert clip.id == "000342_mpii" and clip.frame_index.tolist() == [0, 1, 2]
    assert clip.keypoints.shape == (3, 2, 17, 2)
    # image 10 is frame 0 (track 4), image 12 frame 2 (tracks 9 and 4), frame 1 has nobody
    np.testing.assert_array_equal(clip.keypoints[:, 0, 0, 0], [40, np.nan, 42])  # track 4 in slot 0 over time
    np.testing.assert_array_equal(clip.keypoints[:, 1, 0, 0], [np.nan, np.nan, 90])  # track 9 in slot 1
    assert clip.track_id.tolist() == [[4, -1], [-1, -1], [4, 9]]


def test_real_predictions_written_by_sleap_io(tmp_path):
    sio = pytest.importorskip("sleap_io")
    from sleap_io.io.coco import write_labels

    labels = sio.load_slp(real_file("animal/sleap/slp_hdf5/dance.mp4.labels.slp"))
    write_labels(labels, tmp_path / "dance.json")
    clips = list(read_coco([tmp_path / "dance.json"]).clips)
    assert len(clips) == len(labels) == 450
    for clip, frame in zip(clips[:5] + clips[-2:], list(labels)[:5] + list(labels)[-2:]):
        assert clip.num_persons == len(frame.instances)
        for slot, instance in enumerate(frame.instances):
            np.testing.assert_array_equal(clip.keypoints[0, slot], instance.numpy().astype(np.float32))


@pytest.mark.parametrize(
    "text",
    [
        '{"images": [',
        '{"images": [], "annotations": []}',
        '{"images": [{"id": 1, "file_name": "a.jpg"}], "categories": [{"id": 1}], "annotations": []}',
    ],
)
def test_malformed_json_names_the_file(tmp_path, text):
    (tmp_path / "ann.json").write_text(text)
    with pytest.raises(InputError, match="ann.json"):
        list(read_coco([tmp_path / "ann.json"]).clips)


def test_wrong_keypoint_count_names_the_file(tmp_path):
    data = {
        "images": [{"id": 1, "file_name": "a.jpg"}],
        "categories": [CATEGORY],
        "annotations": [{"image_id": 1, "category_id": 1, "keypoints": [1, 2, 2] * 5}],
    }
    (tmp_path / "ann.json").write_text(json.dumps(data))
    with pytest.raises(InputError, match="ann.json.*clip 'a'"):
        list(read_coco([tmp_path / "ann.json"]).clips)


def test_malformed_entries_name_the_file(tmp_path):
    data = {
        "images": [{"file_name": "a.jpg", "vid_id": 1, "frame_id": 1}],
        "categories": [CATEGORY],
        "annotations": [["not", "an", "object"]],
    }
    (tmp_path / "ann.json").write_text(json.dumps(data))
    with pytest.raises(InputError, match="ann.json.*not a COCO keypoint file"):
        read_coco([tmp_path / "ann.json"])
