"""N-UCLA JSON reader: values against the JSON, cross-view counts over the real folder, malformed files."""

import json
import pickle

import numpy as np
import pytest

from posekit.errors import InputError
from posekit.importers.nw_ucla import CLASSES, read_nw_ucla
from posekit.store import SkeletonStore, StoreWriter
from tests.conftest import real_file

ROOT = "actions/nw_ucla"


def _write(folder, name, skeletons, label):
    path = folder / f"{name}.json"
    path.write_text(json.dumps({"file_name": name, "skeletons": skeletons, "label": label}))
    return path


def test_clip_values_match_the_json():
    path = real_file(f"{ROOT}/all_sqe/a08_s02_e01_v03.json")
    raw = json.loads(path.read_text())
    [clip] = list(read_nw_ucla([path]).clips)
    expected = np.asarray(raw["skeletons"], np.float32)
    assert clip.keypoints.shape == (len(expected), 1, 20, 3)
    np.testing.assert_array_equal(clip.keypoints[:, 0], expected)
    assert clip.id == "a08_s02_e01_v03" and clip.splits == ("test",)
    assert clip.label == raw["label"] - 1 == 6 and CLASSES[clip.label] == "donning"


def test_untracked_joints_become_nan():
    # frame 34 of this sequence has six joints at exactly (0, 0, 0)
    [clip] = list(read_nw_ucla([real_file(f"{ROOT}/all_sqe/a04_s01_e01_v01.json")]).clips)
    missing = np.isnan(clip.keypoints[:, 0]).all(axis=-1)
    assert np.argwhere(missing).tolist() == [[34, 0], [34, 1], [34, 2], [34, 4], [34, 12], [34, 16]]


def test_whole_folder_cross_view_counts(tmp_path):
    dataset = read_nw_ucla([real_file(ROOT)])  # val_label.pkl beside all_sqe is cross-checked on the way
    out = tmp_path / "ucla.h5"
    with StoreWriter(out, dataset.layout, coord_dims=3, classes=dataset.classes, coordinates="metric") as writer:
        for clip in dataset.clips:
            writer.add(clip)
    with SkeletonStore(out) as store:
        assert len(store) == 1484 and store.coord_dims == 3 and store.coordinates == "metric"
        train, test = store.split("train"), store.split("test")
        assert len(train) == 1020 and len(test) == 464
        assert all(name.endswith("_v03") for name in store.ids[test])
        assert set(np.unique(store.labels)) == set(range(10))


def test_label_must_match_the_action_code(tmp_path):
    path = _write(tmp_path, "a08_s01_e00_v01", [[[1.0, 2.0, 3.0]] * 20] * 2, label=8)  # a08 is label 7
    with pytest.raises(InputError, match="a08_s01_e00_v01.json.*label 8"):
        list(read_nw_ucla([path]).clips)


def test_val_label_pickle_disagreement_is_reported(tmp_path):
    _write(tmp_path, "a01_s01_e00_v03", [[[1.0, 2.0, 3.0]] * 20] * 4, label=1)
    (tmp_path / "val_label.pkl").write_bytes(pickle.dumps([{"file_name": "a01_s01_e00_v03", "length": 5, "label": 1}]))
    with pytest.raises(InputError, match="val_label.pkl"):
        list(read_nw_ucla([tmp_path]).clips)


@pytest.mark.parametrize(
    "text",
    [
        '{"file_name": "a01_s01_e00_v01", "skeletons": [[[1, 2, 3]]',
        "",
        '{"file_name": "a01_s01_e00_v01", "skeletons": [[[1, 2]]], "label": 1}',
        '{"file_name": "a01_s01_e00_v01", "label": 1}',
    ],
)
def test_malformed_file_names_the_file(tmp_path, text):
    path = tmp_path / "a01_s01_e00_v01.json"
    path.write_text(text)
    with pytest.raises(InputError, match="a01_s01_e00_v01.json"):
        list(read_nw_ucla([path]).clips)


def test_foreign_name_is_refused(tmp_path):
    path = _write(tmp_path, "walk_01", [[[1.0, 2.0, 3.0]] * 20], label=4)
    with pytest.raises(InputError, match="walk_01.json.*aAA_sSS_eEE_vVV"):
        list(read_nw_ucla([path]).clips)
