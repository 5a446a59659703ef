import numpy as np
import pytest

from posekit import layouts
from posekit.layouts import Layout, chain_layout, get_layout, load_layout, mapping
from tests.conftest import real_file

EXPECTED_SIZES = {
    "coco-17": 17,
    "unik-17": 17,
    "ntu-25": 25,
    "kinect-v1-20": 20,
    "penn-13": 13,
    "openpose-18": 18,
    "openpose-25": 25,
    "blazepose-33": 33,
    "h36m-17": 17,
    "rodent-detector": 3,
    "rodent-centre-1": 1,
}


def test_builtin_layouts_have_their_published_sizes_and_one_tree():
    assert set(layouts.available()) == set(EXPECTED_SIZES)
    for name, size in EXPECTED_SIZES.items():
        layout = get_layout(name)
        assert layout.num_joints == size
        # Every joint but the centre has a parent, and following parents always ends at the centre.
        assert [j for j in layout.joints if j not in layout.parents] == [layout.centre]
        for joint in layout.joints:
            while joint in layout.parents:
                joint = layout.parents[joint]
            assert joint == layout.centre


def test_unik_order_is_the_authors():
    assert get_layout("posetics-17").joints == (
        "nose",
        "mouth",
        "neck",
        "chest",
        "mid_hip",
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
    )


def test_bones_point_away_from_the_centre():
    unik = get_layout("unik-17")
    bones = dict((unik.joints[c], unik.joints[p]) for c, p in unik.bones)
    assert bones["left_wrist"] == "left_elbow" and bones["left_elbow"] == "left_shoulder"
    assert bones["neck"] == "chest" and bones["mid_hip"] == "chest"
    parent = unik.parent_index
    assert parent[unik.index("chest")] == unik.index("chest")  # the centre's bone is zero


def test_penn_to_unik_interpolates_the_missing_torso_joints():
    penn = get_layout("penn-13")
    kp = np.zeros((13, 2))
    kp[penn.index("head")] = [0, 0]
    kp[penn.index("left_shoulder")] = [2, 4]
    kp[penn.index("right_shoulder")] = [4, 4]
    kp[penn.index("left_hip")] = [2, 10]
    kp[penn.index("right_hip")] = [4, 12]
    out = layouts.remap(kp, "penn-13", "unik-17", axis=0)
    unik = get_layout("unik-17")
    at = lambda j: out[unik.index(j)]  # noqa: E731
    np.testing.assert_allclose(at("nose"), [0, 0])
    np.testing.assert_allclose(at("neck"), [3, 4])  # mean of the shoulders
    np.testing.assert_allclose(at("mid_hip"), [3, 11])  # mean of the hips
    np.testing.assert_allclose(at("chest"), [3, 7.5])  # mean of neck and mid-hip, each weighted once
    np.testing.assert_allclose(at("mouth"), [1.5, 2])  # mean of nose and neck
    np.testing.assert_allclose(at("left_hip"), [2, 10])
    assert mapping("penn-13", "unik-17").matched.all()


def test_unmatched_joints_and_missing_sources_become_nan():
    m = mapping("unik-17", "ntu-25")
    ntu = get_layout("ntu-25")
    assert not m.matched[ntu.index("left_thumb")]
    assert m.matched[ntu.index("spine_base")]  # from UNIK's mid-hip
    kp = np.arange(17 * 2, dtype=float).reshape(17, 2)
    kp[get_layout("unik-17").index("left_hip")] = np.nan
    penn = layouts.remap(kp, "unik-17", "penn-13", axis=0)
    assert np.isnan(penn[get_layout("penn-13").index("left_hip")]).all()
    out = m.apply(kp[None], axis=1)[0]
    assert np.isnan(out[ntu.index("left_thumb")]).all()


def test_mapping_matrix_rows_average_their_sources():
    matrix = mapping("coco-17", "unik-17").matrix
    np.testing.assert_allclose(matrix.sum(1), 1.0)
    assert matrix.shape == (17, 17)


def test_chain_layout_roots_at_the_graph_centre():
    layout = chain_layout("worm", ["a", "b", "c", "d", "e"], [("a", "b"), ("b", "c"), ("c", "d"), ("d", "e")])
    assert layout.centre == "c"
    assert layout.parents == {"b": "c", "d": "c", "a": "b", "e": "d"}


def test_bad_layouts_are_refused():
    with pytest.raises(ValueError, match="duplicate joint names"):
        Layout("x", ("a", "a"))
    with pytest.raises(ValueError, match="cycle"):
        Layout("x", ("a", "b"), parents={"a": "b", "b": "a"})
    with pytest.raises(KeyError, match="unknown layout 'nope'"):
        get_layout("nope")


def test_layout_json_round_trip(tmp_path):
    path = tmp_path / "mouse.json"
    original = chain_layout("mouse", ["snout", "ear", "tail"], [("snout", "ear"), ("ear", "tail")])
    path.write_text(original.to_json())
    assert load_layout(path) == original
    assert get_layout(str(path)) == original


def test_real_deeplabcut_config():
    layout = load_layout(real_file("animal/dlc_openfield/config.yaml"))
    assert layout.joints == ("snout", "leftear", "rightear", "tailbase")


def test_real_sleap_skeleton():
    layout = load_layout(real_file("animal/sleap/skeleton/fly_skeleton_legs.json"))
    assert layout.num_joints == 24 and layout.centre == "thorax"
    assert layout.parents["forelegL3"] == "forelegL2" and layout.parents["head"] == "neck"


def test_kinect_layouts_say_which_way_is_up_and_keep_it_through_json():
    assert get_layout("kinect-v1-20").up_axis == (1, 1) and get_layout("ntu-25").up == "+y"
    assert get_layout("coco-17").up is None and get_layout("coco-17").up_axis is None
    assert Layout.from_json(get_layout("kinect-v1-20").to_json()).up == "+y"
    assert Layout(name="z", joints=("a",), up="-z").up_axis == (2, -1)
    with pytest.raises(ValueError, match=r"layout 'bad': up must be one of \+x, -x, \+y, -y, \+z, -z, got 'up'"):
        Layout(name="bad", joints=("a",), up="up")
