"""Penn Action .mat reader: values against scipy.io.loadmat, the whole folder's split counts, malformed files."""

import numpy as np
import pytest
import scipy.io

from posekit.errors import InputError
from posekit.importers.penn_action import CLASSES, read_penn_action
from posekit.store import SkeletonStore, StoreWriter
from tests.conftest import real_file

LABELS = "actions/penn_action/labels"


def test_clip_values_match_the_mat_file():
    path = real_file(f"{LABELS}/0001.mat")
    mat = scipy.io.loadmat(path)
    [clip] = list(read_penn_action([path]).clips)
    frames = mat["x"].shape[0]
    assert clip.id == "0001" and clip.source == "0001.mat"
    assert clip.keypoints.shape == (frames, 1, 13, 2)
    np.testing.assert_allclose(clip.keypoints[:, 0, :, 0], mat["x"])
    np.testing.assert_allclose(clip.keypoints[:, 0, :, 1], mat["y"])
    np.testing.assert_array_equal(clip.scores[:, 0], mat["visibility"])
    np.testing.assert_allclose(clip.box[:, 0], mat["bbox"])
    assert CLASSES[clip.label] == mat["action"][0] == "baseball_pitch"
    assert clip.splits == ("test",)  # train flag -1
    height, width = mat["dimensions"][0, :2]
    assert clip.image_size == (width, height) == (480, 360) and clip.fps == 30


def test_invisible_joints_keep_coordinates_with_score_zero():
    path = real_file(f"{LABELS}/0001.mat")
    mat = scipy.io.loadmat(path)
    [clip] = list(read_penn_action([path]).clips)
    hidden = mat["visibility"] == 0
    assert hidden.any()
    assert not np.isnan(clip.keypoints[:, 0][hidden]).any()
    assert (clip.scores[:, 0][hidden] == 0).all()


def test_short_bbox_and_placeholder_frame():
    # 1154.mat has 72 frames but 71 bbox rows; 0449.mat's last frame is all (0, 0) with visibility 0.
    short = real_file(f"{LABELS}/1154.mat")
    placeholder = real_file(f"{LABELS}/0449.mat")
    clips = {c.id: c for c in read_penn_action([short, placeholder]).clips}
    box = clips["1154"].box[:, 0]
    assert box.shape == (72, 4) and np.isnan(box[71]).all() and not np.isnan(box[:71]).any()
    kp = clips["0449"].keypoints[:, 0]
    assert np.isnan(kp[-1]).all() and not np.isnan(kp[:-1]).any()


def test_whole_folder_into_a_store(tmp_path):
    folder = real_file(LABELS)
    dataset = read_penn_action([folder])
    out = tmp_path / "penn.h5"
    with StoreWriter(
        out, dataset.layout, coord_dims=dataset.coord_dims, classes=dataset.classes, provenance=dataset.provenance
    ) as writer:
        for clip in dataset.clips:
            writer.add(clip)
    with SkeletonStore(out) as store:
        assert len(store) == 2326
        assert len(store.split("train")) == 1258 and len(store.split("test")) == 1068
        assert len(store.classes) == 15 and set(np.unique(store.labels)) == set(range(15))
        assert store.layout.name == "penn-13"


@pytest.mark.parametrize("content", [b"", b"MATLAB 5.0 MAT-file" + b"\0" * 40, b"not a mat file at all"])
def test_unreadable_file_names_the_file(tmp_path, content):
    bad = tmp_path / "0042.mat"
    bad.write_bytes(content)
    with pytest.raises(InputError, match="0042.mat"):
        list(read_penn_action([bad]).clips)


def test_truncated_real_file_names_the_file(tmp_path):
    data = real_file(f"{LABELS}/0001.mat").read_bytes()
    bad = tmp_path / "0001.mat"
    bad.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match="0001.mat"):
        list(read_penn_action([bad]).clips)


def test_wrong_fields_name_the_file(tmp_path):
    bad = tmp_path / "9999.mat"
    scipy.io.savemat(
        bad,
        {
            "x": np.zeros((3, 13)),
            "y": np.zeros((3, 12)),
            "visibility": np.ones((3, 13)),
            "bbox": np.zeros((3, 4)),
            "action": "squat",
            "train": 1,
            "dimensions": [10, 10, 3],
        },
    )
    with pytest.raises(InputError, match=r"9999.mat.*\(frames, 13\)"):
        list(read_penn_action([bad]).clips)
