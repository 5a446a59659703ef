"""Bring-your-own-arrays readers: .npz and long/wide CSV, hand-made and built from a real DLC file."""

import numpy as np
import pandas as pd
import pytest

from posekit.convert import convert
from posekit.errors import InputError
from posekit.importers.arrays import read_csv, read_npz
from posekit.importers.dlc import read_dlc
from posekit.importers.nw_ucla import read_clip as read_nucla_clip
from posekit.layouts import get_layout
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
    np.savez(
        tmp_path / "walk.npz",
        keypoints=keypoints,
        scores=np.full((4, 3), 0.5),
        joint_names=["a", "b", "c"],
        label=1,
        classes=["run", "walk"],
        fps=30.0,
        frame_index=[10, 11, 12, 14],
    )
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
    dataset = read_npz([tmp_path / "many.npz"], layout="coco-17", fps=25, joint_order="layout")
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


@pytest.mark.parametrize(
    "text, problem",
    [
        ("time,part,u,v\n0,nose,1,2\n", r"header is neither long .* nor wide"),
        ("frame,joint,x,y,confidence\n0,nose,1,2,0.5\n", r"unknown columns confidence"),
        ("frame,joint,x\n0,nose,1\n", r"missing y"),
        ("frame,nose_x,nose_y,tail_x\n0,1,2,3\n", r"joint 'tail' lacks column\(s\) tail_y"),
        ("frame,joint,x,y\n0,nose,1,2\n1,nose,3", r"line 3 has 3 of 4 fields \(truncated file\?\)"),
        ("frame,joint,x,y\n0,nose,1,2\n0,nose,3,4\n", r"the same \(clip, frame, person, joint\)"),
        ("clip,frame,joint,x,y,label\na,0,nose,1,2,sit\na,1,nose,1,2,run\n", r"clip 'a' has several labels"),
    ],
)
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
    (tmp_path / "t.csv").write_text(
        "clip,frame,joint,x,y,split\na,0,nose,1,2,train\na,1,nose,3,4,train\nb,0,nose,5,6,test\n"
    )
    clips = list(read_csv([tmp_path / "t.csv"]).clips)
    assert [(c.id, c.splits) for c in clips] == [("a", ("train",)), ("b", ("test",))]
    (tmp_path / "bad.csv").write_text("clip,frame,joint,x,y,split\na,0,nose,1,2,train\na,1,nose,3,4,test\n")
    with pytest.raises(InputError, match="bad.csv: clip 'a' has several split cells"):
        list(read_csv([tmp_path / "bad.csv"]).clips)


# -- a lab's own Kinect files: joint order, joint names, options -------------------------------------------------
NUCLA = "actions/nw_ucla/all_sqe"
KINECT = get_layout("kinect-v1-20")
# UTD-MHAD ships its Kinect-v1 joints head first: N-UCLA's 20 joints with the torso listed top down.
HEAD_FIRST = ("head", "shoulder_center", "spine", "hip_center", *KINECT.joints[4:])


def head_first_npz(tmp_path):
    """Real N-UCLA sequences written as a lab's own .npz files: joints head first, no joint names, metres."""
    order = [KINECT.index(joint) for joint in HEAD_FIRST]
    sequences = sorted(real_file(NUCLA).glob("*.json"))[::120]
    folder = tmp_path / "lab"
    folder.mkdir()
    for path in sequences:
        clip = read_nucla_clip(path)
        np.savez(folder / f"{path.stem}.npz", keypoints=clip.keypoints[:, 0][:, order], label=clip.label)
    return folder, sequences


def test_unnamed_joints_in_another_order_are_refused_not_guessed(tmp_path):
    folder, _ = head_first_npz(tmp_path)
    with pytest.raises(
        InputError,
        match=r"a01_\w+\.npz: 20 joints without names, whose order posekit cannot "
        r"guess: add a joint_names array .* -O joint_names=FILE .* "
        r"-O joint_order=layout if they are in kinect-v1-20's order",
    ):
        convert("npz", [folder], tmp_path / "lab.h5", layout="kinect-v1-20", progress=False)
    assert not (tmp_path / "lab.h5").exists()


def test_a_joint_names_file_puts_the_joints_in_layout_order(tmp_path):
    folder, sequences = head_first_npz(tmp_path)
    (tmp_path / "joints.txt").write_text("\n".join(HEAD_FIRST) + "\n")
    summary = convert(
        "npz",
        [folder],
        tmp_path / "lab.h5",
        layout="kinect-v1-20",
        progress=False,
        joint_names=str(tmp_path / "joints.txt"),
        coordinates="metric",
    )
    store = SkeletonStore(tmp_path / "lab.h5")
    assert summary["warnings"] == [] and len(store) == len(sequences) and store.coordinates == "metric"
    for stored, path in zip(store, sequences):
        np.testing.assert_array_equal(stored.keypoints, read_nucla_clip(path).keypoints)


def test_a_wrongly_confirmed_order_converts_with_a_warning_naming_the_joints(tmp_path):
    folder, _ = head_first_npz(tmp_path)
    summary = convert(
        "npz",
        [folder],
        tmp_path / "lab.h5",
        layout="kinect-v1-20",
        progress=False,
        joint_order="layout",
        coordinates="metric",
    )
    assert summary["clips"] > 0
    [warning] = summary["warnings"]
    assert "the head (head) is below the centre (spine) in 100% of upright frames (up is +y)" in warning
    assert "are the joints in the layout's order?" in warning


def test_the_real_dataset_in_its_own_order_raises_no_warning(tmp_path):
    sequences = sorted(real_file(NUCLA).glob("*.json"))[::20]
    assert convert("nw-ucla", sequences, tmp_path / "nucla.h5", progress=False)["warnings"] == []


def test_a_misspelt_joint_name_is_refused_with_the_closest_layout_name(tmp_path):
    names = list(KINECT.joints)
    names[names.index("left_shoulder")] = "left_shouldr"
    keypoints = read_nucla_clip(real_file(f"{NUCLA}/a01_s01_e00_v01.json")).keypoints[:, 0]
    np.savez(tmp_path / "typo.npz", keypoints=keypoints, joint_names=names)
    with pytest.raises(
        InputError,
        match=r"typo\.npz: joint names not in layout 'kinect-v1-20': left_shouldr "
        r"\(did you mean left_shoulder\?\); rename them as the layout does "
        r"\(`posekit layouts kinect-v1-20` lists its joints\)",
    ):
        convert("npz", [tmp_path / "typo.npz"], tmp_path / "typo.h5", layout="kinect-v1-20", progress=False)
    wide = pd.DataFrame(
        {f"{name}_{axis}": keypoints[:, j, k] for j, name in enumerate(names) for k, axis in enumerate("xyz")}
    )
    wide.insert(0, "frame", np.arange(len(wide)))
    wide.to_csv(tmp_path / "typo.csv", index=False)
    with pytest.raises(
        InputError,
        match=r"typo\.csv: joint names not in layout 'kinect-v1-20': left_shouldr "
        r"\(did you mean left_shoulder\?\)",
    ):
        read_csv([tmp_path / "typo.csv"], layout="kinect-v1-20")


def test_joint_names_files_and_orders_that_cannot_be_used_are_one_line_errors(tmp_path):
    np.savez(tmp_path / "a.npz", keypoints=np.zeros((2, 3, 2)))
    (tmp_path / "two.txt").write_text("nose\ntail\n")
    with pytest.raises(InputError, match=r"a\.npz: 3 joints in keypoints but 2 names for its unnamed joints"):
        read_npz([tmp_path / "a.npz"], joint_names=str(tmp_path / "two.txt"))
    (tmp_path / "twice.txt").write_text("nose\nnose\ntail\n")
    with pytest.raises(InputError, match=r"twice\.txt: joint names repeated: nose"):
        read_npz([tmp_path / "a.npz"], joint_names=str(tmp_path / "twice.txt"))
    with pytest.raises(InputError, match=r"-O joint_order=layout needs --layout"):
        read_npz([tmp_path / "a.npz"], joint_order="layout")
    with pytest.raises(InputError, match=r"-O joint_order=file: the one order to confirm is 'layout'"):
        read_npz([tmp_path / "a.npz"], layout="coco-17", joint_order="file")


def test_unknown_options_are_refused_with_the_readers_own_list(tmp_path):
    np.savez(tmp_path / "a.npz", keypoints=np.ones((2, 3, 2)))
    with pytest.raises(
        InputError,
        match=r"^npz has no option bogus; its options: max_persons, fps, joint_names, "
        r"joint_order, coordinates$",
    ):
        convert("npz", [tmp_path / "a.npz"], tmp_path / "a.h5", progress=False, bogus="1")
    with pytest.raises(InputError, match=r"^ntu has no option coordinates; its options: max_persons, space$"):
        convert("ntu", [tmp_path], tmp_path / "a.h5", progress=False, coordinates="metric")
    with pytest.raises(
        InputError,
        match=r"-O coordinates=normalized: coordinates are one of pixel, normalised, "
        r"metric \(did you mean normalised\?\)",
    ):
        read_csv([tmp_path], coordinates="normalized")
    assert not (tmp_path / "a.h5").exists()


def test_csv_coordinates_can_be_metric(tmp_path):
    (tmp_path / "m.csv").write_text("frame,joint,x,y,z\n0,nose,0.1,0.2,2.5\n0,tail,0.3,0.1,2.6\n")
    convert("csv", [tmp_path / "m.csv"], tmp_path / "m.h5", progress=False, coordinates="metric")
    assert SkeletonStore(tmp_path / "m.h5").coordinates == "metric"
