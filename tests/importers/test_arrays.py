"""Bring-your-own-arrays readers: .npz and long/wide CSV, hand-made and built from a real DLC file."""
import numpy as np
import pandas as pd
import pytest

from posekit.errors import InputError
from posekit.importers.arrays import read_csv, read_npz
from posekit.importers.dlc import read_dlc
from posekit.store import SkeletonStore, StoreWriter
from tests.conftest import real_file

BSOID_H5 = "animal/bsoid_dlc/raw_clip1DLC_resnet50_OpenFieldHighResApr8shuffle1_1030000.h5"


def write_store(path, dataset):
    clips = list(dataset.clips)
    with StoreWriter(path, layout=dataset.layout, coord_dims=dataset.coord_dims, classes=dataset.classes) as w:
        for clip in clips:
            w.add(clip)
    return clips, SkeletonStore(path)


# -- npz ------------------------------------------------------------------------------------------------------
def test_npz_one_clip_of_one_person(tmp_path):
    keypoints = np.arange(4 * 3 * 2, dtype=np.float32).reshape(4, 3, 2)
    np.savez(tmp_path / "walk.npz", keypoints=keypoints, scores=np.full((4, 3), 0.5), joint_names=["a", "b", "c"],
             label=1, classes=["run", "walk"], fps=30.0, frame_index=[10, 11, 12, 14])
    dataset = read_npz([tmp_path / "walk.npz"])
    (clip,) = dataset.clips
    assert dataset.layout.joints == ("a", "b", "c") and dataset.classes == ["run", "walk"]
    assert clip.id == "walk" and clip.label == 1 and clip.fps == 30.0
    np.testing.assert_array_equal(clip.keypoints[:, 0], keypoints)
    np.testing.assert_array_equal(clip.frame_index, [10, 11, 12, 14])
    np.testing.assert_array_equal(clip.scores, np.full((4, 1, 3), 0.5))


def test_npz_several_clips_of_several_persons_round_trip(tmp_path):
    keypoints = np.random.default_rng(0).normal(size=(5, 2, 17, 3)).astype(np.float32)
    keypoints[4, 1] = np.nan  # person 1 absent in the last frame
    np.savez(tmp_path / "many.npz", keypoints=keypoints, lengths=[3, 2], id=["first", "second"], label=[0, 1])
    dataset = read_npz([tmp_path / "many.npz"], layout="coco-17", fps=25)
    clips, store = write_store(tmp_path / "many.h5", dataset)
    assert [c.id for c in clips] == ["first", "second"] and store.layout.name == "coco-17"
    assert dataset.classes == ["0", "1"]  # labels without names: classes named by their number
    assert store.coord_dims == 3
    np.testing.assert_array_equal(store[1].keypoints, keypoints[3:])
    np.testing.assert_array_equal(store[1].track_id, [[0, 1], [0, -1]])
    np.testing.assert_array_equal(store[1].frame_index, [0, 1])
    assert store[1].label == 1 and store[0].fps == 25


def test_npz_matches_the_dlc_reader_on_a_real_file(tmp_path):
    frame = pd.read_hdf(real_file(BSOID_H5))
    values = frame.to_numpy(np.float32).reshape(len(frame), -1, 3)  # (T, body parts, x y likelihood)
    parts = list(dict.fromkeys(frame.columns.get_level_values("bodyparts")))
    np.savez(tmp_path / "mouse.npz", keypoints=values[..., :2], scores=values[..., 2], joint_names=parts)
    (mine,) = read_npz([tmp_path / "mouse.npz"]).clips
    (theirs,) = read_dlc([real_file(BSOID_H5)]).clips
    np.testing.assert_array_equal(mine.keypoints, theirs.keypoints)
    np.testing.assert_array_equal(mine.scores, theirs.scores)


def test_bad_npz_files_name_the_file(tmp_path):
    np.savez(tmp_path / "nokp.npz", points=np.zeros((2, 3, 2)))
    with pytest.raises(InputError, match=r"nokp\.npz: no 'keypoints' array \(found: points\)"):
        read_npz([tmp_path / "nokp.npz"])
    np.savez(tmp_path / "flat.npz", keypoints=np.zeros((2, 6)))
    with pytest.raises(InputError, match=r"flat\.npz: keypoints must be"):
        read_npz([tmp_path / "flat.npz"])
    np.savez(tmp_path / "lengths.npz", keypoints=np.zeros((5, 3, 2)), lengths=[2, 2])
    with pytest.raises(InputError, match=r"lengths\.npz: lengths sum to 4 but keypoints has 5 frames"):
        list(read_npz([tmp_path / "lengths.npz"]).clips)
    np.savez(tmp_path / "names.npz", keypoints=np.zeros((5, 3, 2)), joint_names=["a", "b"])
    with pytest.raises(InputError, match=r"names\.npz: 3 joints in keypoints but 2 joint names"):
        list(read_npz([tmp_path / "names.npz"]).clips)
    (tmp_path / "text.npz").write_text("not a zip")
    with pytest.raises(InputError, match=r"text\.npz: "):
        read_npz([tmp_path / "text.npz"])


# -- csv ------------------------------------------------------------------------------------------------------
LONG = """clip,frame,person,joint,x,y,score,label
a,0,mouse1,nose,1,2,0.9,groom
a,0,mouse1,tail,3,4,0.8,groom
a,0,mouse2,nose,5,6,0.7,groom
a,2,mouse2,tail,7,8,0.6,groom
b,5,mouse2,nose,9,10,0.5,rear
"""


def test_long_csv(tmp_path):
    (tmp_path / "long.csv").write_text(LONG)
    dataset = read_csv([tmp_path / "long.csv"], fps=30)
    clips, store = write_store(tmp_path / "long.h5", dataset)
    a, b = clips
    assert dataset.layout.joints == ("nose", "tail") and dataset.classes == ["groom", "rear"]
    assert (a.id, a.label, b.id, b.label) == ("a", 0, "b", 1)
    np.testing.assert_array_equal(a.frame_index, [0, 2])  # frames as listed, no rows invented
    np.testing.assert_array_equal(a.keypoints[0], [[[1, 2], [3, 4]], [[5, 6], [np.nan, np.nan]]])
    np.testing.assert_array_equal(a.keypoints[1, 1, 1], [7, 8])
    np.testing.assert_array_equal(a.scores[0, 0], np.float32([0.9, 0.8]))
    np.testing.assert_array_equal(a.track_id, [[0, 1], [-1, 1]])
    np.testing.assert_array_equal(b.track_id, [[1]])  # mouse2 keeps its number in every clip
    np.testing.assert_array_equal(store[0].keypoints, a.keypoints)
    assert store.classes == ["groom", "rear"] and store[1].label == 1 and store[0].fps == 30


def test_wide_csv_matches_the_dlc_reader_on_a_real_file(tmp_path):
    frame = pd.read_hdf(real_file(BSOID_H5))
    frame.columns = [f"{part}_{'score' if coord == 'likelihood' else coord}" for _, part, coord in frame.columns]
    frame.insert(0, "frame", np.arange(len(frame)))
    frame.to_csv(tmp_path / "wide.csv", index=False)
    dataset = read_csv([tmp_path / "wide.csv"])
    (mine,) = dataset.clips
    (theirs,) = read_dlc([real_file(BSOID_H5)]).clips
    assert dataset.layout.joints[5] == "Butt/Proximal Tail"
    np.testing.assert_allclose(mine.keypoints, theirs.keypoints, rtol=1e-6)  # via decimal text
    np.testing.assert_allclose(mine.scores, theirs.scores, rtol=1e-6)
    np.testing.assert_array_equal(mine.frame_index, np.arange(7200))


def test_wide_csv_with_persons_and_a_given_layout(tmp_path):
    (tmp_path / "w.csv").write_text("frame,person,tail_x,tail_y,nose_x,nose_y\n0,0,1,2,3,4\n0,1,5,6,7,8\n1,1,9,10,,\n")
    (clip,) = read_csv([tmp_path / "w.csv"], layout=str(layout_file(tmp_path, ["nose", "tail", "ear"]))).clips
    np.testing.assert_array_equal(clip.keypoints[0, 1], [[7, 8], [5, 6], [np.nan, np.nan]])
    np.testing.assert_array_equal(clip.keypoints[1, 1, 1], [9, 10])
    assert np.isnan(clip.keypoints[1, 0]).all() and clip.scores is None


def layout_file(tmp_path, joints):
    import json

    path = tmp_path / "layout.json"
    path.write_text(json.dumps({"joints": joints}))
    return path


@pytest.mark.parametrize("text, problem", [
    ("time,part,u,v\n0,nose,1,2\n", r"header is neither long .* nor wide"),
    ("frame,joint,x,y,confidence\n0,nose,1,2,0.5\n", r"unknown columns confidence"),
    ("frame,joint,x\n0,nose,1\n", r"missing y"),
    ("frame,nose_x,nose_y,tail_x\n0,1,2,3\n", r"joint 'tail' lacks column\(s\) tail_y"),
    ("frame,joint,x,y\n0,nose,1,2\n1,nose,3", r"line 3 has 3 of 4 fields \(truncated file\?\)"),
    ("frame,joint,x,y\n0,nose,1,2\n0,nose,3,4\n", r"the same \(clip, frame, person, joint\)"),
    ("clip,frame,joint,x,y,label\na,0,nose,1,2,sit\na,1,nose,1,2,run\n", r"clip 'a' has several labels"),
])
def test_malformed_csv_names_the_file(tmp_path, text, problem):
    (tmp_path / "bad.csv").write_text(text)
    with pytest.raises(InputError, match=r"bad\.csv: .*" + problem):
        list(read_csv([tmp_path / "bad.csv"]).clips)


def test_whole_number_labels_name_their_classes_by_number(tmp_path):
    (tmp_path / "one.csv").write_text("clip,frame,joint,x,y,label\na,0,n,1,2,2\n")
    (tmp_path / "two.csv").write_text("clip,frame,joint,x,y,label\nb,0,n,3,4,0\n")
    dataset = read_csv([tmp_path])
    assert dataset.classes == ["0", "1", "2"]
    assert [(c.id, c.label) for c in dataset.clips] == [("a", 2), ("b", 0)]


def test_splits_from_npz_and_csv(tmp_path):
    kp = np.arange(2 * 3 * 2, dtype=np.float32).reshape(2, 3, 2)
    np.savez(tmp_path / "a.npz", keypoints=kp, split="train+xview_train")
    np.savez(tmp_path / "b.npz", keypoints=kp + 1, split="test")
    clips = list(read_npz([tmp_path / "a.npz", tmp_path / "b.npz"]).clips)
    assert [c.splits for c in clips] == [("train", "xview_train"), ("test",)]
    (tmp_path / "t.csv").write_text("clip,frame,joint,x,y,split\n"
                                    "a,0,nose,1,2,train\na,1,nose,3,4,train\nb,0,nose,5,6,test\n")
    clips = list(read_csv([tmp_path / "t.csv"]).clips)
    assert [(c.id, c.splits) for c in clips] == [("a", ("train",)), ("b", ("test",))]
    (tmp_path / "bad.csv").write_text("clip,frame,joint,x,y,split\na,0,nose,1,2,train\na,1,nose,3,4,test\n")
    with pytest.raises(InputError, match="bad.csv: clip 'a' has several split cells"):
        list(read_csv([tmp_path / "bad.csv"]).clips)
