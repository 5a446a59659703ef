"""posekit synth views: bone scaling along the tree, the camera by hand, the rendered store, determinism, N-UCLA."""

import numpy as np
import pytest
from click.testing import CliRunner

from posekit.cli.synth import synth
from posekit.errors import PosekitError
from posekit.importers.nw_ucla import read_nw_ucla
from posekit.layouts import Layout
from posekit.store import Clip, SkeletonStore, StoreWriter
from posekit.synth.render import synth_views
from posekit.synth.views import bone_lengths, project, random_body_scales, retarget_bones, rotation, symmetric_groups
from tests.conftest import real_file
from tests.synth.tiny import LAYOUT as LAYOUT_KINECT
from tests.synth.tiny import STANDING, swinging, write_tiny_store

CHAIN = Layout(name="chain-3", joints=("a", "b", "c"), parents={"b": "a", "c": "b"})


def test_retarget_scales_each_bone_and_keeps_its_direction():
    joints = np.array([[0.0, 0, 0], [1, 0, 0], [1, 2, 0]])
    out = retarget_bones(joints, CHAIN, np.array([1.0, 2.0, 0.5]))
    # a stays; b = a + 2 * (1, 0, 0); c = b' + 0.5 * (0, 2, 0)
    np.testing.assert_allclose(out, [[0, 0, 0], [2, 0, 0], [2, 1, 0]])
    np.testing.assert_allclose(bone_lengths(out, CHAIN), [0, 2 * 1, 0.5 * 2])


def test_retarget_on_a_real_tree_scales_every_bone_and_keeps_directions():
    scales = random_body_scales(LAYOUT_KINECT, np.random.default_rng(3), 0.5, 1.5)
    joints = swinging(5, 0.5, 0.3, 0.02)
    out = retarget_bones(joints, LAYOUT_KINECT, scales)
    before, after = (x - x[..., LAYOUT_KINECT.parent_index, :] for x in (joints, out))
    np.testing.assert_allclose(after, before * scales[:, None], atol=1e-12)  # scale x bone: length and direction
    root = LAYOUT_KINECT.index("spine")
    np.testing.assert_array_equal(out[:, root], joints[:, root])


def test_left_and_right_bones_share_their_scale_and_roots_keep_one():
    scales = random_body_scales(LAYOUT_KINECT, np.random.default_rng(0), 0.7, 1.3)
    for side_joint in ("elbow", "wrist", "hand", "shoulder", "hip", "knee", "ankle", "foot"):
        assert scales[LAYOUT_KINECT.index(f"left_{side_joint}")] == scales[LAYOUT_KINECT.index(f"right_{side_joint}")]
    assert scales[LAYOUT_KINECT.index("spine")] == 1.0
    assert ((scales >= 0.7) & (scales <= 1.3)).all()
    assert len(set(symmetric_groups(LAYOUT_KINECT))) == 20 - 8


def test_projection_by_hand():
    points = np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 1.0], [0.0, 1.0, 0.0]])
    np.testing.assert_allclose(project(points, 0), [[1, -2], [0, 0], [0, -1]])  # drop depth, y down
    # yaw 90 about the vertical axis: depth becomes x (x' = cos*x + sin*z), the old x goes to depth
    np.testing.assert_allclose(project(points, 90), [[3, -2], [1, 0], [0, -1]], atol=1e-12)
    # pitch 90 (seen from above): a point nearer the camera (z = -1) drops in the image, up goes into depth
    np.testing.assert_allclose(
        project(np.array([[0.0, 0.0, -1.0], [0.0, 1.0, 0.0]]), 0, 90), [[0, 1], [0, 0]], atol=1e-12
    )
    np.testing.assert_allclose(project(points, 0, pivot=[1, 2, 3])[0], [0, 0])
    assert np.allclose(rotation(37, 12) @ rotation(37, 12).T, np.eye(3))


def test_rendered_store_records_motion_body_and_view(tmp_path):
    write_tiny_store(tmp_path / "tiny.h5", motions=3, frames=20)
    summary = synth_views(
        tmp_path / "tiny.h5",
        tmp_path / "views.h5",
        bodies=2,
        yaws=(0, 90),
        pitches=(0,),
        scale_range=(1.0, 1.0),
        seed=1,
        progress=False,
    )
    assert summary == {"motions": 3, "bodies": 2, "views": 2, "clips": 12, "output": str(tmp_path / "views.h5")}
    with SkeletonStore(tmp_path / "views.h5") as store, SkeletonStore(tmp_path / "tiny.h5") as source:
        assert store.coord_dims == 2 and store.layout.joints == source.layout.joints
        assert store.classes == source.classes and len(store.split("test")) == 4  # 1 motion x 2 bodies x 2 views
        ids = {name: store.feature(name)[:, 0].astype(int) for name in ("motion_id", "body_id", "view_id")}
        assert sorted(zip(*ids.values())) == [(m, b, v) for m in range(3) for b in range(2) for v in range(2)]
        np.testing.assert_array_equal(store.feature("view_angles")[store.feature("view_id")[:, 0] == 1], [[90, 0]] * 6)
        i = store.index_of("m1_b0_v0")
        assert store[i].label == source[1].label and store.column("source")[i] == "m1"
        # scales of 1 and constant bone lengths: the render at yaw 0 is the clip seen as is, about its first centre
        joints = source[1].keypoints[:, 0]
        pivot = joints[0, LAYOUT_KINECT.index("spine")]
        np.testing.assert_allclose(store[i].keypoints[:, 0], project(joints, 0, pivot=pivot), atol=1e-5)


def test_bodies_have_their_scales_whoever_performs(tmp_path):
    write_tiny_store(tmp_path / "tiny.h5", motions=2, frames=20)
    synth_views(
        tmp_path / "tiny.h5",
        tmp_path / "views.h5",
        bodies=2,
        yaws=(90,),
        scale_range=(0.5, 1.5),
        seed=4,
        progress=False,
    )
    with SkeletonStore(tmp_path / "views.h5") as store:
        scales = store.feature("body_scales")
        np.testing.assert_array_equal(scales[store.index_of("m0_b1_v0")], scales[store.index_of("m1_b1_v0")])
        # seen side-on (yaw 90) the swinging arm leaves the image plane; the leg stays in it: shin = scale x 0.4
        knee, ankle = LAYOUT_KINECT.index("left_knee"), LAYOUT_KINECT.index("left_ankle")
        render = store.index_of("m0_b1_v0")
        shin = np.linalg.norm(np.diff(store[render].keypoints[:, 0, [knee, ankle]], axis=1), axis=-1)
        np.testing.assert_allclose(shin, scales[render, ankle] * 0.4, rtol=1e-5)


def _run(args):
    return CliRunner().invoke(synth, args, catch_exceptions=True)


def test_command_is_deterministic_with_a_seed_and_refuses_an_existing_output(tmp_path):
    write_tiny_store(tmp_path / "tiny.h5", motions=2, frames=16)
    outputs = {}
    for name, seed in (("a", 5), ("b", 5), ("c", 6)):
        result = _run(
            [
                "views",
                str(tmp_path / "tiny.h5"),
                "-o",
                str(tmp_path / f"{name}.h5"),
                "--bodies",
                "2",
                "--views",
                "-30,30",
                "--pitch",
                "0,20",
                "--seed",
                str(seed),
                "--split",
                "train",
            ]
        )
        assert result.exit_code == 0, result.output
        with SkeletonStore(tmp_path / f"{name}.h5") as store:
            outputs[name] = (store.file["frames/keypoints"][()], store.feature("body_scales"))
            assert len(store) == 1 * 2 * 4  # the train split's single motion x 2 bodies x (2 yaws x 2 pitches)
    assert "rendered 1 motions x 2 bodies x 4 views = 8 2D clips" in result.output
    np.testing.assert_array_equal(outputs["a"][0], outputs["b"][0])
    assert not np.array_equal(outputs["a"][1], outputs["c"][1])
    again = _run(["views", str(tmp_path / "tiny.h5"), "-o", str(tmp_path / "a.h5")])
    assert isinstance(again.exception, PosekitError) and "--force" in str(again.exception)
    assert _run(["views", str(tmp_path / "tiny.h5"), "-o", str(tmp_path / "a.h5"), "--force"]).exit_code == 0


def test_a_2d_store_is_refused(tmp_path):
    with StoreWriter(tmp_path / "flat.h5", "kinect-v1-20", coord_dims=2) as writer:
        writer.add(Clip(id="x", keypoints=STANDING[None, None, :, :2]))
    with pytest.raises(PosekitError, match="flat.h5: needs 3D joints"):
        synth_views(tmp_path / "flat.h5", tmp_path / "out.h5", progress=False)
    assert not (tmp_path / "out.h5").exists()


def test_nw_ucla_clips_render_out_of_the_box(tmp_path):
    files = [
        real_file(f"actions/nw_ucla/all_sqe/{name}.json")
        for name in ("a01_s01_e00_v01", "a04_s01_e01_v01", "a06_s02_e00_v03")
    ]
    dataset = read_nw_ucla(files)
    with StoreWriter(
        tmp_path / "ucla.h5", dataset.layout, coord_dims=3, classes=dataset.classes, coordinates="metric"
    ) as writer:
        for clip in dataset.clips:
            writer.add(clip)
    result = _run(
        [
            "views",
            str(tmp_path / "ucla.h5"),
            "-o",
            str(tmp_path / "views.h5"),
            "--bodies",
            "2",
            "--views",
            "0,90",
            "--split",
            "train",
        ]
    )
    assert result.exit_code == 0, result.output
    with SkeletonStore(tmp_path / "views.h5") as store:
        assert len(store) == 2 * 2 * 2 and store.split("train").tolist() == list(range(8))
        clip = store[store.index_of("a01_s01_e00_v01_b0_v0")]
        head, foot = (clip.keypoints[0, 0, LAYOUT_KINECT.index(joint)] for joint in ("head", "left_foot"))
        assert 1.0 < foot[1] - head[1] < 2.2  # an upright person, y down, in metres
        # a04_s01_e01_v01 misses 6 joints in frame 34 (and so their descendants): every render misses the same ones
        missing = [np.isnan(store[i].keypoints).any(-1) for i in range(len(store)) if store.ids[i].startswith("a04")]
        assert missing[0][34].any() and all(np.array_equal(m, missing[0]) for m in missing)
