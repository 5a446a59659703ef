"""Experts: names and specs, test-time augmentation mapped back to the frame, rtmlib ONNX models (a tiny random
model exported in the test), mmpose without weights, and precomputed poses matched to videos by name."""

import json

import numpy as np
import pytest

from posekit.errors import InputError
from posekit.extract.experts import DEFAULT_EXPERTS, Expert, FramePoses, build_expert, parse_expert, parse_experts
from posekit.extract.experts.augment import Augmented, mirror_permutation
from posekit.extract.video import Video
from posekit.layouts import get_layout

from .synthetic import figure, write_alphapose_json, write_mmpose_json


def test_names_and_augmentations():
    from posekit.cli.extract import extract

    default = next(p.default for p in extract.params if p.name == "experts")
    assert default == ",".join(DEFAULT_EXPERTS)  # the CLI spells the default out to keep --help instant
    specs = parse_experts(default)
    assert [s.name for s in specs] == ["blazepose-detector", "blazepose-detector+flip", "blazepose-detector+scale0.75"]
    assert specs[2].augmentations == ("scale0.75",) and specs[2].options == {"type": "blazepose-detector"}
    assert parse_expert("blazepose-multi+flip").options == {"type": "blazepose-multi"}
    assert parse_expert("rtmlib:models/rtmpose-t.onnx+flip").name == "rtmlib-rtmpose-t+flip"
    assert parse_expert("openpose:/data/op").options == {"type": "file", "format": "openpose", "path": "/data/op"}
    with pytest.raises(InputError, match="unique"):
        parse_experts("blazepose,blazepose")
    with pytest.raises(InputError, match="unknown expert"):
        parse_expert("hrnet")
    with pytest.raises(InputError, match="cannot be augmented"):
        parse_expert("openpose:/data/op+flip")


def test_spec_file_names_the_expert_and_paths_are_relative_to_it(tmp_path):
    spec = tmp_path / "student.json"
    spec.write_text(
        json.dumps({"type": "mmpose", "name": "student", "config": "student_config.py", "checkpoint": "student.pth"})
    )
    parsed = parse_expert(str(spec))
    assert parsed.name == "student" and parsed.options["base"] == str(tmp_path)
    # No weights offline: one line saying how to supply them, before mmpose is even imported.
    with pytest.raises(InputError, match=r"student\.pth: no such checkpoint file; give the weights"):
        build_expert(parsed)
    spec.write_text(json.dumps({"type": "mmpose", "name": "student", "config": "x.py"}))
    with pytest.raises(InputError, match="no checkpoint; give the weights"):
        build_expert(parse_expert(str(spec)))
    spec.write_text(json.dumps({"type": "nothing"}))
    with pytest.raises(
        InputError, match='needs "type": one of blazepose, blazepose-detector, blazepose-multi, file, mmpose, rtmlib$'
    ):
        parse_expert(str(spec))


def test_mirror_permutation_swaps_left_and_right():
    layout = get_layout("blazepose-33")
    mirror = mirror_permutation(layout)
    names = [layout.joints[i] for i in mirror]
    assert names[layout.index("left_wrist")] == "right_wrist" and names[layout.index("nose")] == "nose"
    assert names[layout.index("mouth_left")] == "mouth_right"
    assert (mirror[mirror] == np.arange(layout.num_joints)).all()


class BrightSpots(Expert):
    """A fake model that tells left from right by appearance, as a pose model does: of two bright spots, the one
    further right in the image is the left wrist (a person facing the camera), the other the right wrist."""

    name, layout = "spots", get_layout("coco-17")

    def predict(self, frames, indices):
        import cv2

        out = []
        for frame in frames:
            _, _, _, centres = cv2.connectedComponentsWithStats((frame.max(axis=2) > 200).astype(np.uint8))
            right, left = sorted(centres[1:] + 0.5, key=lambda c: c[0])  # + 0.5: pixel centres
            xy = np.full((17, 2), np.nan, np.float32)
            xy[9], xy[10] = left, right
            out.append(FramePoses(xy[None], np.ones((1, 17), np.float32)))
        return out


@pytest.mark.parametrize("flip, scale", [(True, 1.0), (False, 0.5), (True, 2.0)])
def test_augmented_poses_come_back_to_the_original_frame(flip, scale):
    frame = np.zeros((60, 80, 3), np.uint8)
    frame[10:14, 20:24] = 255  # centre (22, 12): the right wrist
    frame[40:44, 60:64] = 255  # centre (62, 42): the left wrist
    [poses] = Augmented(BrightSpots(), "spots+x", flip=flip, scale=scale).predict([frame], np.array([0]))
    np.testing.assert_allclose(poses.keypoints[0, 9], (62, 42), atol=0.6)
    np.testing.assert_allclose(poses.keypoints[0, 10], (22, 12), atol=0.6)
    np.testing.assert_allclose(poses.boxes[0], (22, 12, 62, 42), atol=0.6)


@pytest.fixture(scope="module")
def tiny_rtmpose(tmp_path_factory):
    """A randomly initialised SimCC pose model (RTMPose's output form) exported to ONNX with a dynamic batch."""
    import torch

    class TinySimCC(torch.nn.Module):
        def __init__(self, joints=17, width=48, height=64):
            super().__init__()
            self.joints, self.width, self.height = joints, width, height
            self.features = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3, stride=4), torch.nn.AdaptiveAvgPool2d(4))
            self.head = torch.nn.Linear(64, joints * 2 * (width + height))

        def forward(self, x):
            out = self.head(self.features(x).flatten(1)).view(x.shape[0], self.joints, -1)
            return out[..., : 2 * self.width], out[..., 2 * self.width :]

    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("onnx") / "tiny-simcc.onnx"
    torch.onnx.export(
        TinySimCC().eval(),
        torch.zeros(1, 3, 64, 48),
        str(path),
        input_names=["input"],
        output_names=["simcc_x", "simcc_y"],
        dynamic_axes={"input": {0: "batch"}},
        dynamo=False,
    )
    return path


def test_rtmlib_expert_batches_like_rtmlib_runs_one_frame(tiny_rtmpose):
    from rtmlib import RTMPose

    expert = build_expert(parse_expert(f"rtmlib:{tiny_rtmpose}"))
    assert expert.name == "rtmlib-tiny-simcc" and expert.layout.name == "coco-17" and expert.batch_size > 1
    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 255, (90, 120, 3), dtype=np.uint8) for _ in range(3)]
    poses = expert.predict(frames, np.arange(3))
    reference = RTMPose(str(tiny_rtmpose), model_input_size=(48, 64), backend="onnxruntime", device="cpu")
    for frame, found in zip(frames, poses):
        keypoints, scores = reference(frame)
        np.testing.assert_allclose(found.keypoints, keypoints, atol=1e-3)
        np.testing.assert_allclose(found.scores, scores, atol=1e-5)
        assert found.keypoints.shape == (1, 17, 2) and found.boxes is None


def test_rtmlib_expert_names_a_missing_or_broken_model(tmp_path):
    with pytest.raises(InputError, match="no such ONNX model"):
        build_expert(parse_expert(f"rtmlib:{tmp_path / 'none.onnx'}"))
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"not a model")
    with pytest.raises(InputError, match="not a readable ONNX model"):
        build_expert(parse_expert(f"rtmlib:{broken}"))


def test_file_experts_find_the_video_poses_by_name(tmp_path):
    poses = np.stack([np.stack([figure((50 + f, 80), 60), figure((150, 80), 50)]) for f in range(4)])
    (tmp_path / "mm").mkdir()
    (tmp_path / "ap" / "walk").mkdir(parents=True)
    write_mmpose_json(tmp_path / "mm" / "walk.json", poses)
    write_mmpose_json(tmp_path / "mm" / "walk_fast.json", poses + 100)  # another video's file
    write_alphapose_json(tmp_path / "ap" / "walk" / "alphapose-results.json", poses, order=lambda f: [1, 0])
    video = Video("walk", tmp_path / "walk.mp4")
    for name in (f"mmpose-json:{tmp_path / 'mm'}", f"alphapose:{tmp_path / 'ap'}"):
        expert = build_expert(parse_expert(name))
        expert.start(video, (320, 240))
        assert expert.layout.name == "coco-17"
        found = expert.predict([None] * 5, np.arange(5))
        assert len(found[4]) == 0  # a frame the file does not list has nobody
        first = found[2].keypoints[np.argsort(found[2].keypoints[:, 0, 0])]
        np.testing.assert_allclose(first, poses[2], atol=1e-4)
    with pytest.raises(InputError, match="no mmpose-json file named after it"):
        build_expert(parse_expert(f"mmpose-json:{tmp_path / 'mm'}")).start(Video("run", tmp_path / "run.mp4"), (0, 0))


def test_openpose_files_go_through_the_importer(tmp_path):
    op = get_layout("openpose-18")
    coco = get_layout("coco-17")
    pose = figure((100, 100), 80)
    for f in range(3):
        values = np.zeros((18, 3))
        for j, name in enumerate(op.joints):
            if name in coco.joints:
                values[j] = (*pose[coco.index(name)] + f, 0.7)
        (tmp_path / f"clip_{f:012d}_keypoints.json").write_text(
            json.dumps({"people": [{"pose_keypoints_2d": values.ravel().tolist()}]})
        )
    expert = build_expert(parse_expert(f"openpose:{tmp_path}"))
    expert.start(Video("clip", tmp_path / "clip.mp4"), (320, 240))
    [found] = expert.predict([None], np.array([2]))
    assert expert.layout.name == "openpose-18"
    np.testing.assert_allclose(found.keypoints[0, op.index("left_wrist")], pose[coco.index("left_wrist")] + 2)
    assert np.isnan(found.keypoints[0, op.index("neck")]).all()  # confidence 0: missing


def test_a_person_without_a_box_gets_the_extent_of_its_joints():
    keypoints = np.array([[[10, 20], [30, 5], [np.nan, np.nan]], [[1, 1], [2, 2], [3, 3]]], np.float32)
    poses = FramePoses(keypoints, np.ones((2, 3)), np.array([[np.nan] * 4, [0, 0, 9, 9]], np.float32))
    np.testing.assert_array_equal(poses.with_boxes().boxes, [[10, 5, 30, 20], [0, 0, 9, 9]])
    np.testing.assert_array_equal(FramePoses(keypoints, np.ones((2, 3))).with_boxes().boxes[1], [1, 1, 3, 3])
