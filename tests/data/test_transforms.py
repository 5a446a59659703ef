"""Transforms against hand-computed values on toy skeletons."""

import numpy as np
import pytest
import torch

from posekit.data.transforms import (
    BoneMotion,
    CentreSkeleton,
    Compose,
    FormatCTVM,
    JointMotion,
    JointToBone,
    MinMaxNormalise,
    NormalizeImage2D,
    Project2D,
    RandomFlip,
    RandomRotation,
    RandomScale,
    RandomTemporalCrop,
    ReplayPad,
    ResizeTime,
    ScaleNormalise,
    SelectPersons,
    UniformSample,
    build_transforms,
)
from posekit.errors import InputError
from posekit.layouts import Layout, get_layout

CHAIN = Layout(name="chain3", joints=("a", "b", "c"), parents={"b": "a", "c": "b"}, centre="b")


def sample_of(keypoints, **extra):
    keypoints = np.asarray(keypoints, np.float32)
    return {
        "keypoints": keypoints,
        "scores": np.ones(keypoints.shape[:3], np.float32),
        "label": 3,
        "index": 7,
        "id": "toy",
        **extra,
    }


def frames_valued(t, m=1, v=3, c=2):
    """(T, M, V, C) whose every value is its frame number, to read time indices back."""
    return sample_of(np.broadcast_to(np.arange(t, dtype=np.float32)[:, None, None, None], (t, m, v, c)).copy())


def test_normalize_image_2d_formula_and_nan():
    kp = [[[[100, 50], [0, 0], [200, 100]]], [[[np.nan, np.nan], [50, 25], [0, 100]]]]  # T=2, M=1, V=3
    out = NormalizeImage2D()(sample_of(kp, image_size=np.array([200, 100])))["keypoints"]
    # x/w*2-1, y/w*2-h/w with w=200, h=100
    np.testing.assert_allclose(out[0, 0], [[0, 0], [-1, -0.5], [1, 0.5]])
    np.testing.assert_allclose(out[1, 0, 1:], [[-0.5, -0.25], [-1, 0.5]])
    assert np.isnan(out[1, 0, 0]).all()
    tensor = FormatCTVM()({"keypoints": out})["keypoints"]
    assert tensor[:, 1, 0, 0].tolist() == [0.0, 0.0]  # missing becomes zero only at the end


def test_normalize_image_2d_needs_an_image_size():
    with pytest.raises(InputError, match="toy"):
        NormalizeImage2D()(sample_of(np.zeros((1, 1, 3, 2)), image_size=np.array([0, 0])))
    out = NormalizeImage2D(image_size=(10, 20))(sample_of([[[[10, 20], [0, 0], [5, 5]]]]))["keypoints"]
    np.testing.assert_allclose(out[0, 0, 0], [1, 2])


def test_bone_of_a_three_joint_chain():
    kp = [[[[0, 0], [1, 0], [1, 2]]]]
    out = JointToBone(CHAIN)(sample_of(kp))["keypoints"]
    np.testing.assert_allclose(out[0, 0], [[0, 0], [1, 0], [0, 2]])  # the root's bone is zero


def test_joint_motion_and_bone_motion():
    kp = np.zeros((3, 1, 3, 2), np.float32)
    kp[:, 0, 2, 0] = [0, 1, 3]  # joint c moves along x
    motion = JointMotion()(sample_of(kp))["keypoints"]
    np.testing.assert_allclose(motion[:, 0, 2, 0], [1, 2, 0])
    np.testing.assert_allclose(motion[:, 0, :2], 0)
    kp[:, 0, 1, 0] = [0, 2, 2]  # b moves too: bone c-b is [0, -1, 1] over time
    bone_motion = BoneMotion(CHAIN)(sample_of(kp))["keypoints"]
    np.testing.assert_allclose(bone_motion[:, 0, 2, 0], [-1, 2, 0])


def test_motion_of_a_missing_joint_is_missing():
    kp = np.zeros((3, 1, 3, 2), np.float32)
    kp[1, 0, 0] = np.nan
    motion = JointMotion()(sample_of(kp))["keypoints"]
    assert np.isnan(motion[0, 0, 0]).all() and np.isnan(motion[1, 0, 0]).all()
    assert not np.isnan(motion[2]).any()


def test_rotation_by_90_degrees_2d_and_3d():
    out = RandomRotation(angle=(90, 90))(sample_of([[[[1, 0], [0, 2], [1, 1]]]]))["keypoints"]
    np.testing.assert_allclose(out[0, 0], [[0, 1], [-2, 0], [-1, 1]], atol=1e-6)
    # 3D: R = Rz(90) Ry(90) Rx(90); by hand, x -> -z and y -> y
    out3 = RandomRotation(angle=(90, 90))(sample_of([[[[1, 0, 0], [0, 1, 0], [0, 0, 0]]]]))["keypoints"]
    np.testing.assert_allclose(out3[0, 0], [[0, 0, -1], [0, 1, 0], [0, 0, 0]], atol=1e-6)


def test_rotation_about_chosen_axes_only():
    # about y alone by 90 degrees (by hand): x -> -z, y stays, z -> x
    rotate_y = RandomRotation(angle=(90, 90), axes="y")
    out = rotate_y(sample_of([[[[1, 0, 0], [0, 1, 0], [0, 0, 1]]]]))["keypoints"]
    np.testing.assert_allclose(out[0, 0], [[0, 0, -1], [0, 1, 0], [1, 0, 0]], atol=1e-6)
    with pytest.raises(ValueError, match="axes"):
        RandomRotation(axes="xw")


def test_project_2d_gives_the_kinect_image_view():
    # Kinect: x to the sensor's left, y up -> image (x right, y down) = (-x, -y); depth dropped
    out = Project2D()(sample_of([[[[0.5, 1.0, 3.0], [-0.2, -0.4, 2.5]]]]))["keypoints"]
    np.testing.assert_allclose(out[0, 0], [[-0.5, -1.0], [0.2, 0.4]], atol=1e-7)
    kept_x = Project2D(flip_x=False)(sample_of([[[[0.5, 1.0, 3.0]]]]))["keypoints"]
    np.testing.assert_allclose(kept_x[0, 0], [[0.5, -1.0]], atol=1e-7)
    with pytest.raises(InputError, match="3D"):
        Project2D()(sample_of([[[[1.0, 2.0]]]]))


def test_random_rotation_is_seedable_and_bounded():
    kp = [[[[1, 0], [0, 1], [1, 1]]]]
    a = RandomRotation(angle=30, seed=5)(sample_of(kp))["keypoints"]
    b = RandomRotation(angle=30, seed=5)(sample_of(kp))["keypoints"]
    np.testing.assert_array_equal(a, b)
    angle = np.degrees(np.arctan2(a[0, 0, 0, 1], a[0, 0, 0, 0]))
    assert 0 < abs(angle) <= 30
    np.testing.assert_allclose(np.linalg.norm(a[0, 0], axis=-1), [1, 1, np.sqrt(2)], rtol=1e-6)  # lengths kept


def test_without_a_seed_random_transforms_follow_torchs_seed_and_differ_from_each_other():
    kp = np.ones((1, 1, 3, 2))

    def draw(torch_seed):
        torch.manual_seed(torch_seed)  # what mmengine's randomness setting does before building the pipeline
        scale = RandomScale(scale=0.5)(sample_of(kp))["keypoints"][0, 0, 0]
        rotation = RandomRotation(angle=90)(sample_of([[[[1.0, 0.0]]]]))["keypoints"][0, 0, 0]
        return scale, rotation

    (scale, rotation), (again, rotation_again) = draw(3), draw(3)
    np.testing.assert_array_equal(scale, again)
    np.testing.assert_array_equal(rotation, rotation_again)
    assert not np.array_equal(draw(4)[0], scale)  # another torch seed, other draws
    assert RandomScale(scale=0.5).rng.random() != RandomRotation(angle=90).rng.random()  # not one shared stream


def test_random_scale_per_axis():
    out = RandomScale(scale=(2, 2))(sample_of([[[[1, -3], [0, 1], [2, 2]]]]))["keypoints"]
    np.testing.assert_allclose(out[0, 0], [[2, -6], [0, 2], [4, 4]])
    factors = RandomScale(scale=0.1, seed=1)(sample_of(np.ones((1, 1, 3, 2))))["keypoints"][0, 0, 0]
    assert np.all((factors >= 0.9) & (factors <= 1.1)) and factors[0] != factors[1]


def test_replay_pad_3_frames_to_7():
    sample = frames_valued(3)
    sample["scores"] = np.arange(3, dtype=np.float32)[:, None, None] * np.ones((3, 1, 3), np.float32)
    out = ReplayPad(7)(sample)
    assert out["keypoints"][:, 0, 0, 0].tolist() == [0, 1, 2, 0, 1, 2, 0]
    assert out["scores"][:, 0, 0].tolist() == [0, 1, 2, 0, 1, 2, 0]  # every per-frame array follows
    assert len(ReplayPad(2)(frames_valued(5))["keypoints"]) == 5


def test_uniform_sample_indices():
    test = UniformSample(5, test=True)
    assert test.indices(10).tolist() == [1, 3, 5, 7, 9]  # middles of [0,2) [2,4) ... [8,10)
    assert test.indices(7).tolist() == [0, 1, 3, 4, 6]  # segments [0,1) [1,2) [2,4) [4,5) [5,7)
    assert test.indices(3).tolist() == [0, 1, 2, 0, 1]  # short clip: looped
    train = UniformSample(5, seed=0)
    for _ in range(20):
        idx = train.indices(10)
        assert np.all(idx // 2 == np.arange(5))  # one frame inside each segment
    out = UniformSample(5, test=True)(frames_valued(10))["keypoints"][:, 0, 0, 0]
    assert out.tolist() == [1, 3, 5, 7, 9]


def test_uniform_sample_multi_clip_test_takes_the_kth_of_k_samplings():
    test = UniformSample(5, test=True)
    assert test.indices(10, (0, 2)).tolist() == [0, 2, 4, 6, 8]  # 2*1//4 = 0 into each 2-frame segment
    assert test.indices(10, (1, 2)).tolist() == [1, 3, 5, 7, 9]  # 2*3//4 = 1
    assert test.indices(15, (2, 3)).tolist() == [2, 5, 8, 11, 14]  # 3*5//6 = 2 into each 3-frame segment
    assert test.indices(10, (0, 1)).tolist() == test.indices(10).tolist()  # one clip: the middles
    assert test.indices(3, (1, 3)).tolist() == [1, 2, 0, 1, 2]  # short clip looped from frame 1*3//3
    sample = frames_valued(10)
    sample["clip"] = (1, 2)
    assert test(sample)["keypoints"][:, 0, 0, 0].tolist() == [1, 3, 5, 7, 9]


def test_random_temporal_crop_keeps_a_contiguous_window():
    out = RandomTemporalCrop(4, seed=3)(frames_valued(10))["keypoints"][:, 0, 0, 0]
    assert len(out) == 4 and np.all(np.diff(out) == 1) and 0 <= out[0] <= 6
    assert len(RandomTemporalCrop(4)(frames_valued(3))["keypoints"]) == 3


def test_resize_time_interpolates_linearly():
    out = ResizeTime(5)(frames_valued(3))["keypoints"][:, 0, 0, 0]
    np.testing.assert_allclose(out, [0, 0.5, 1, 1.5, 2])
    sample = frames_valued(3)
    sample["keypoints"][2] = np.nan
    out = ResizeTime(5)(sample)["keypoints"][:, 0, 0, 0]
    np.testing.assert_allclose(out[:3], [0, 0.5, 1])  # frame 1 exactly, though its next frame is missing
    assert np.isnan(out[3:]).all()


def test_select_persons_picks_the_moving_person():
    t = 6
    kp = np.zeros((t, 3, 3, 2), np.float32)
    kp[:, 1, :, 0] = np.arange(t)[:, None]  # person 1 walks
    kp[:, 0] = 5.0  # person 0 stands still
    kp[:, 2] = np.nan  # person 2 absent
    sample = sample_of(kp)
    sample["scores"][:, 1] = 0.5
    out = SelectPersons(2, by="motion")(sample)
    np.testing.assert_array_equal(out["keypoints"][:, 0, 0, 0], np.arange(t))
    assert np.all(out["keypoints"][:, 1] == 5)
    np.testing.assert_array_equal(out["scores"][:, 0], 0.5)  # scores follow their person
    padded = SelectPersons(4, by="valid")(sample_of(kp))["keypoints"]
    assert padded.shape[1] == 4 and np.isnan(padded[:, 2:]).all()


def test_select_persons_by_valid_joints():
    kp = np.zeros((2, 2, 3, 2), np.float32)
    kp[:, 0, :2] = np.nan  # person 0 has a third of its joints
    out = SelectPersons(1, by="valid")(sample_of(kp))["keypoints"]
    assert out.shape[1] == 1 and not np.isnan(out).any()


def test_centre_skeleton_first_valid_frame_and_per_frame():
    kp = np.zeros((3, 2, 3, 2), np.float32)
    kp[:, :, :, 0] = np.arange(3)[:, None, None] + 10  # x = 10 + t, everything
    kp[0, 0, 1] = np.nan  # the centre (b) of person 0 is missing in frame 0
    out = CentreSkeleton(CHAIN)(sample_of(kp.copy()))["keypoints"]
    np.testing.assert_allclose(out[2, 1, :, 0], [1, 1, 1])  # minus frame 1's centre (11), for every person
    per_frame = CentreSkeleton(CHAIN, per_frame=True)(sample_of(kp.copy()))["keypoints"]
    np.testing.assert_allclose(per_frame[1:, :, :, 0], 0)
    np.testing.assert_allclose(per_frame[0, 1, :, 0], [-1, -1, -1])  # frame 0 borrows frame 1's centre


def test_scale_normalise_by_torso_with_a_derived_neck():
    coco = get_layout("coco-17")
    kp = np.zeros((1, 1, 17, 2), np.float32)
    kp[0, 0, coco.index("left_shoulder")] = [-1, 0]
    kp[0, 0, coco.index("right_shoulder")] = [1, 0]
    kp[0, 0, coco.index("left_hip")] = [-1, 4]
    kp[0, 0, coco.index("right_hip")] = [1, 4]  # neck (0, 0), mid-hip (0, 4): torso 4
    out = ScaleNormalise(coco)(sample_of(kp))["keypoints"]
    np.testing.assert_allclose(out[0, 0, coco.index("left_hip")], [-0.25, 1])


def test_min_max_normalise_maps_each_axis_range_to_minus_one_one():
    x = np.array([[[[0.0, 2.0, 5.0], [4.0, 2.0, 7.0]]], [[[2.0, 2.0, np.nan], [1.0, 2.0, 6.0]]]], np.float32)
    out = MinMaxNormalise()({"keypoints": x})["keypoints"]  # (T=2, M=1, V=2, C=3)
    # x: range 0..4 -> (v - 0) * 2/4 - 1; y has no spread and is kept; z: range 5..7, the NaN stays NaN
    np.testing.assert_allclose(out[..., 0].ravel(), [-1.0, 1.0, 0.0, -0.5])
    np.testing.assert_allclose(out[..., 1].ravel(), [2.0, 2.0, 2.0, 2.0])
    np.testing.assert_allclose(out[..., 2].ravel(), [-1.0, 1.0, np.nan, 0.0])


def test_random_flip_swaps_left_and_right():
    coco = get_layout("coco-17")
    kp = np.zeros((1, 1, 17, 2), np.float32)
    kp[0, 0, coco.index("left_wrist")] = [3, 1]
    kp[0, 0, coco.index("nose")] = [2, 5]
    out = RandomFlip(coco, p=1.0)(sample_of(kp))["keypoints"][0, 0]
    np.testing.assert_allclose(out[coco.index("right_wrist")], [-3, 1])
    np.testing.assert_allclose(out[coco.index("nose")], [-2, 5])
    np.testing.assert_allclose(out[coco.index("left_wrist")], [0, 0])


def test_format_ctvm_layout_and_nan():
    kp = np.arange(3 * 2 * 3 * 2, dtype=np.float32).reshape(3, 2, 3, 2)  # (T, M, V, C)
    kp[1, 0, 2] = np.nan
    out = FormatCTVM()(sample_of(kp))
    x = out["keypoints"]
    assert x.dtype == torch.float32 and tuple(x.shape) == (2, 3, 3, 2)  # (C, T, V, M)
    assert x[1, 2, 1, 0] == kp[2, 0, 1, 1] and x[0, 1, 2, 0] == 0
    assert out["label"] == 3 and out["index"] == 7 and out["id"] == "toy" and out["length"] == 3
    with_scores = FormatCTVM(with_scores=True)(sample_of(kp))["keypoints"]
    assert with_scores.shape[0] == 3 and torch.all(with_scores[2] == 1)
    assert FormatCTVM()(out) is out  # idempotent


def test_build_transforms_by_name_with_the_layout():
    pipeline = build_transforms(
        [{"type": "ReplayPad", "length": 4}, {"type": "JointToBone"}, {"type": "FormatCTVM"}], layout=CHAIN
    )
    assert isinstance(pipeline, Compose)
    out = pipeline(sample_of([[[[0, 0], [1, 0], [1, 2]]]]))
    assert tuple(out["keypoints"].shape) == (2, 4, 3, 1)
    assert out["keypoints"][:, 3, 2, 0].tolist() == [0, 2]
    with pytest.raises(InputError, match="unknown transform"):
        build_transforms([{"type": "Nope"}])
    with pytest.raises(InputError, match="needs a layout"):
        build_transforms([{"type": "JointToBone"}])
    with pytest.raises(InputError, match="ReplayPad"):
        build_transforms([{"type": "ReplayPad", "frames": 3}])


def test_remap_layout_maps_joints_by_name_and_later_transforms_use_the_target():
    from posekit.data.transforms import RemapLayout, build_transforms
    from posekit.layouts import get_layout

    penn, unik = get_layout("penn-13"), get_layout("unik-17")
    kp = np.zeros((1, 1, 13, 2), np.float32)
    kp[0, 0, penn.index("left_shoulder")] = [2, 4]
    kp[0, 0, penn.index("right_shoulder")] = [4, 4]
    kp[0, 0, penn.index("left_hip")] = [2, 10]
    kp[0, 0, penn.index("right_hip")] = [4, 12]
    sample = RemapLayout("penn-13", "unik-17")({"keypoints": kp.copy(), "scores": np.ones((1, 1, 13))})
    assert sample["keypoints"].shape == (1, 1, 17, 2) and sample["scores"].shape == (1, 1, 17)
    np.testing.assert_allclose(sample["keypoints"][0, 0, unik.index("neck")], [3, 4])
    np.testing.assert_allclose(sample["keypoints"][0, 0, unik.index("chest")], [3, 7.5])
    # Bones after the remap follow UNIK's tree: the neck's bone is neck - chest.
    pipeline = build_transforms(
        [{"type": "RemapLayout", "target": unik.to_json()}, {"type": "JointToBone"}], layout="penn-13"
    )
    bones = pipeline({"keypoints": kp.copy()})["keypoints"]
    np.testing.assert_allclose(bones[0, 0, unik.index("neck")], [0, -3.5])
    np.testing.assert_allclose(bones[0, 0, unik.index("chest")], [0, 0])
