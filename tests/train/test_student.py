"""The SSTA-PRS student: the anchor loss by hand (eq. 3.7), the layout's mmpose meta, and a one-iteration training
on tiny images whose saved student mmpose's init_model / inference_topdown load and run."""

import json

import cv2
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from posekit import checkpoints
from posekit.compat import ensure_mmpose_importable
from posekit.errors import PosekitError
from posekit.layouts import get_layout
from posekit.store import Clip, StoreWriter
from posekit.train.student import mmpose_metainfo, train_student

ensure_mmpose_importable()
import mmpose.apis as mmpose_apis  # noqa: E402


def test_metainfo_swaps_left_and_right_and_keeps_the_bones():
    from mmpose.datasets.datasets.utils import parse_pose_metainfo

    layout = get_layout("penn-13")
    meta = parse_pose_metainfo(mmpose_metainfo(layout))
    assert meta["num_keypoints"] == 13
    left, right = layout.index("left_wrist"), layout.index("right_wrist")
    assert meta["flip_indices"][left] == right and meta["flip_indices"][right] == left
    assert meta["flip_indices"][layout.index("head")] == layout.index("head")
    assert sorted(map(tuple, meta["skeleton_links"])) == sorted(layout.bones)


def test_anchor_loss_is_weighted_cross_entropy_over_labelled_instances():
    from mmengine.registry import DefaultScope
    from mmengine.structures import InstanceData
    from mmpose.structures import PoseDataSample

    from posekit.nets.student_head import AnchorPoseRTMCCHead

    torch.manual_seed(0)
    # mmpose builds the head's loss in the current default scope, which a Runner earlier in the process may
    # have left at another library's: build it in mmpose's, as mmpose's own Runner and init_model do.
    with DefaultScope.overwrite_default_scope("mmpose"):
        head = AnchorPoseRTMCCHead(
            num_anchors=3,
            anchor_loss_weight=0.5,
            in_channels=8,
            out_channels=2,
            input_size=(32, 32),
            in_featuremap_size=(1, 1),
            simcc_split_ratio=2.0,
            final_layer_kernel_size=1,
            gau_cfg=dict(
                hidden_dims=16,
                s=8,
                expansion_factor=2,
                dropout_rate=0.0,
                drop_path=0.0,
                act_fn="SiLU",
                use_rel_bias=False,
                pos_enc=False,
            ),
            loss=dict(type="KLDiscretLoss", use_target_weight=True, beta=10.0, label_softmax=True),
            decoder=dict(type="SimCCLabel", input_size=(32, 32), sigma=2.0, simcc_split_ratio=2.0),
        )
    feats = (torch.randn(3, 8, 1, 1),)
    samples = []
    for anchor in (2, -1, 0):  # the middle instance has no anchor class
        sample = PoseDataSample(metainfo=dict(raw_ann_info=dict(anchor_class=anchor)))
        sample.gt_instance_labels = InstanceData(
            keypoint_x_labels=torch.rand(1, 2, 64),
            keypoint_y_labels=torch.rand(1, 2, 64),
            keypoint_weights=torch.ones(1, 2),
        )
        samples.append(sample)
    losses = head.loss(feats, samples)
    logits = head.anchor_classifier(feats[0].flatten(1))
    expected = 0.5 * -(F.log_softmax(logits[[0, 2]], dim=1)[[0, 1], [2, 0]]).mean()
    torch.testing.assert_close(losses["loss_anchor"], expected)
    assert {"loss_kpt", "acc_pose", "acc_anchor"} <= set(losses)


def stick_figure(pose, size=64):
    """A white polyline through the joints on grey."""
    image = np.full((size, size, 3), 90, np.uint8)
    for a, b in zip(pose[:-1], pose[1:]):
        cv2.line(image, tuple(int(v) for v in a), tuple(int(v) for v in b), (255, 255, 255), 2)
    return image


def test_one_iteration_student_loads_in_mmpose(tmp_path):
    n_frames, rng = 8, np.random.default_rng(0)
    standing = np.linspace([30.0, 6.0], [33.0, 58.0], 13)
    lying = np.linspace([6.0, 30.0], [58.0, 33.0], 13)
    keypoints = np.stack([(standing if t % 2 else lying) + rng.normal(0, 1.0, (13, 2)) for t in range(n_frames)])
    images = tmp_path / "frames" / "clip-a"
    images.mkdir(parents=True)
    for t, pose in enumerate(keypoints):
        cv2.imwrite(str(images / f"{t:06d}.jpg"), stick_figure(pose))
    store = tmp_path / "refined.h5"
    with StoreWriter(store, layout="penn-13", coord_dims=2) as writer:
        writer.add(
            Clip(
                id="clip-a",
                keypoints=keypoints[:, None],
                scores=np.full((n_frames, 1, 13), 0.5),
                frame_index=np.arange(n_frames),
                image_size=(64, 64),
                source="unused.mp4",
            )
        )

    result = train_student(
        store, tmp_path / "student", anchors=2, epochs=1, batch_size=n_frames, images=tmp_path / "frames"
    )
    assert "loss_anchor" in result["final_losses"] and np.isfinite(result["final_losses"]["loss_anchor"])
    assert result["pseudo_labels"]["annotations"] == n_frames
    logged = [
        json.loads(line)
        for path in (tmp_path / "student" / "runs").glob("*/vis_data/scalars.json")
        for line in path.read_text().splitlines()
    ]
    assert logged and all("loss_anchor" in entry and "loss_kpt" in entry for entry in logged)
    expert = json.loads((tmp_path / "student" / "expert.json").read_text())
    assert expert["type"] == "mmpose" and expert["name"] == "student"
    assert expert == {**expert, "config": result["config"], "checkpoint": result["checkpoint"]}

    with checkpoints.allowed_globals():  # torch's weights-only load, plus the numpy of the dataset meta
        model = mmpose_apis.init_model(expert["config"], expert["checkpoint"], device="cpu")
    saved = checkpoints.load(expert["checkpoint"])["state_dict"]
    torch.testing.assert_close(
        model.state_dict()["head.anchor_classifier.weight"], saved["head.anchor_classifier.weight"]
    )
    assert saved["head.anchor_classifier.weight"].shape == (2, 384)
    results = mmpose_apis.inference_topdown(model, str(images / "000000.jpg"), bboxes=np.array([[0, 0, 64, 64]]))
    assert results[0].pred_instances.keypoints.shape == (1, 13, 2)


def test_cuda_request_without_a_gpu_is_refused(tmp_path):
    if torch.cuda.is_available():
        pytest.skip("a GPU is visible")
    with pytest.raises(PosekitError, match="needs a CUDA GPU"):
        train_student(tmp_path / "none.h5", tmp_path / "w", device="cuda")


def test_refine_command_trains_the_student(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from posekit.cli import main
    from tests.refine.test_refine_store import track_poses, write_proposals

    monkeypatch.chdir(tmp_path)  # the proposals name their video as videos/clip.mp4
    (tmp_path / "videos").mkdir()
    writer = cv2.VideoWriter("videos/clip.mp4", cv2.VideoWriter_fourcc(*"mp4v"), 25, (160, 120))
    for _ in range(50):
        writer.write(np.zeros((120, 160, 3), np.uint8))
    writer.release()
    rng = np.random.default_rng(0)
    pose = track_poses(rng, 22) * 0.5  # 22 frames (video frames 5, 7, ..., 47), inside the 160 x 120 frame
    clips = {e: (pose[:, None] + rng.normal(0, 1, (22, 1) + pose.shape[1:]), np.full((22, 1), 5)) for e in "abc"}
    proposals = write_proposals(tmp_path / "proposals.h5", {"clip": clips}, image_size=(160, 120))

    result = CliRunner().invoke(
        main, ["refine", str(proposals), "-o", "r.h5", "--train-student", "--student-epochs", "1"]
    )
    assert result.exit_code == 0, result.output
    assert (
        "student trained 1 epochs on cpu from scratch on 22 pseudo labels (22 frames, 20 anchor poses)" in result.output
    )
    assert json.loads((tmp_path / "r_student" / "expert.json").read_text())["name"] == "student"


def test_missing_checkpoint_or_config_is_a_one_line_error_before_any_work(tmp_path):
    with pytest.raises(PosekitError, match="no such checkpoint"):
        train_student(tmp_path / "none.h5", tmp_path / "w", checkpoint=tmp_path / "missing.pth")
    with pytest.raises(PosekitError, match="no such config file"):
        train_student(tmp_path / "none.h5", tmp_path / "w", config=tmp_path / "missing.py")
    assert not (tmp_path / "w").exists()
