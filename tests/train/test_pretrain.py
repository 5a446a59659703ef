"""Contrastive pre-training of UNIK (posekit train pretrain): each kind of positives end to end through the command,
the pre-trained backbone loaded whole by posekit train unik --init, the momentum hook's update, the queues restored
on resume, and the user's mistakes as one line."""

import json
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from mmengine.config import Config
from mmengine.optim import OptimWrapper

from posekit import checkpoints
from posekit.cli import main
from posekit.data.transforms import InterpolateGaps
from posekit.layouts import Layout, get_layout
from posekit.nets.motion_generator import MotionGenerator
from posekit.store import Clip, StoreWriter
from posekit.train.contrastive import ContrastivePretrainer, MomentumEncoderHook
from posekit.train.pretrain import TORSO_METRES, prepare_config, queue_length
from posekit.zoo import models_dir
from tests.synth.tiny import LAYOUT, swinging

WINDOW, BATCH = 16, 5  # the generator needs 4 other windows in a batch for P = 4 Statics
SHORT = [
    "--project-2d",
    "--epochs",
    "1",
    "--batch-size",
    str(BATCH),
    "--workers",
    "0",
    "--window",
    str(WINDOW),
    "--seed",
    "0",
]


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """16 Kinect-v1 clips in metres of 12 to 57 frames (shorter ones are stretched to the window), 12 for
    training and 4 for testing, two classes."""
    path = tmp_path_factory.mktemp("pretrain") / "swings.h5"
    with StoreWriter(path, LAYOUT, coord_dims=3, classes=["slow", "fast"], coordinates="metric") as writer:
        for k in range(16):
            joints = swinging(12 + 3 * k, amplitude=0.3 + 0.05 * k, speed=0.2 + 0.2 * (k % 2), walk=0.01 * (k % 3))
            writer.add(
                Clip(
                    id=f"c{k}",
                    keypoints=joints[:, None].astype(np.float32),
                    label=k % 2,
                    fps=30.0,
                    splits=("test",) if k % 4 == 3 else ("train",),
                )
            )
    return path


def save_generator(path, layout_name: str):
    """A motion generator checkpoint as posekit train motion-generator writes it, with random weights."""
    layout = get_layout(layout_name)
    root = layout.index(layout.centre) if layout.centre else 0
    torch.manual_seed(0)
    net = MotionGenerator(layout.num_joints, root=root)
    cfg = {
        "model": {
            "type": "RetargetingModel",
            "net": {"type": "MotionGenerator", "num_joints": layout.num_joints, "root": root},
        },
        "trained_on": {"store": "renders.h5", "layout": layout.to_json()},
    }
    torch.save(
        {
            "state_dict": {f"net.{k}": v for k, v in net.state_dict().items()},
            "meta": {checkpoints.CONFIG_KEY: json.dumps(cfg)},
        },
        path,
    )
    return path


@pytest.fixture(scope="module")
def generator(tmp_path_factory):
    return save_generator(tmp_path_factory.mktemp("generator") / "generator.pth", LAYOUT.name)


def pretrain(store, work_dir, *args):
    return CliRunner().invoke(
        main, ["train", "pretrain", "--store", str(store), "--work-dir", str(work_dir), *SHORT, *map(str, args)]
    )


@pytest.fixture(scope="module")
def augment_run(store, tmp_path_factory):
    work_dir = tmp_path_factory.mktemp("augment")
    result = pretrain(store, work_dir)
    assert result.exit_code == 0, result.output
    return work_dir, result


def check_run(work_dir, output: str, positives: str, layout=LAYOUT) -> Config:
    """The summary, metrics.json and best.pth of a 1-epoch run; the config it holds."""
    assert f"{positives} positives" in output and str(work_dir / "best.pth") in output
    metrics = json.loads((work_dir / "metrics.json").read_text())
    assert metrics["positives"] == positives and metrics["epochs"] == 1 and metrics["train_windows"] == 12
    assert metrics["queue_size"] == 6  # half the 12 training windows
    assert all(np.isfinite(metrics[k]) for k in ("loss", "loss_sequence", "loss_frame", "positive_top1"))
    state = checkpoints.load(work_dir / "best.pth")
    cfg = checkpoints.training_config(state, work_dir / "best.pth")
    assert cfg.trained_on.coord_dims == 2 and Layout.from_json(cfg.trained_on.layout).joints == layout.joints
    assert cfg.model.net.num_joints == layout.num_joints
    assert state["state_dict"]["sequence_queue.keys"].shape == (6, 128)
    assert state["state_dict"]["frame_queue.keys"].shape == (6, 4, 128)  # 16 frames -> 4 frame features
    return cfg


def test_augment_positives_end_to_end(augment_run):
    work_dir, result = augment_run
    cfg = check_run(work_dir, result.output, "augment")
    assert cfg.trained_on.generator is None and not cfg.model.generator_mirror_x
    metrics = json.loads((work_dir / "metrics.json").read_text())
    assert metrics["positive_top1_chance"] == pytest.approx(40.0)


@pytest.mark.parametrize(
    "positives, layout", [("compose", LAYOUT.name), ("retarget", "penn-13")]
)  # its joints all in the store's: mapped
def test_generated_positives_end_to_end(store, tmp_path, positives, layout):
    generator = save_generator(tmp_path / "generator.pth", layout)
    result = pretrain(store, tmp_path / "run", "--positives", positives, "--generator", generator)
    assert result.exit_code == 0, result.output
    cfg = check_run(tmp_path / "run", result.output, positives, get_layout(layout))
    assert cfg.trained_on.generator == str(generator)
    assert cfg.model.generator_mirror_x  # --project-2d: windows reach the generator as synth views renders them
    weights = checkpoints.load(tmp_path / "run" / "best.pth")["state_dict"]
    for name, value in torch.load(generator)["state_dict"].items():  # the frozen generator, saved unchanged
        torch.testing.assert_close(weights[f"views.generator.{name.removeprefix('net.')}"], value)


def test_unik_init_loads_the_whole_pretrained_backbone_and_trains(store, augment_run, tmp_path):
    work_dir, _ = augment_run
    result = CliRunner().invoke(
        main,
        [
            "train",
            "unik",
            "--store",
            str(store),
            "--work-dir",
            str(tmp_path),
            "--init",
            str(work_dir / "best.pth"),
            "--linear",
            "--project-2d",
            "--epochs",
            "1",
            "--batch-size",
            "4",
            "--workers",
            "0",
        ],
    )
    assert result.exit_code == 0, result.output
    counts = json.loads((tmp_path / "metrics.json").read_text())["init_tensors"]
    assert counts["loaded"] == counts["expected"] > 200
    pretrained = checkpoints.load(work_dir / "best.pth")["state_dict"]
    trained = checkpoints.load(tmp_path / "best.pth")["state_dict"]
    frozen = [k for k in trained if k.startswith("net.blocks.") and k.endswith("weight")]
    assert frozen and all(torch.equal(trained[k], pretrained[k]) for k in frozen)  # linear: the backbone kept


def test_the_momentum_hook_moves_the_key_encoder_by_the_ema_rule():
    torch.manual_seed(0)
    model = ContrastivePretrainer(
        net=dict(type="UNIK", in_channels=2, num_joints=5, num_persons=1, num_classes=1, num_heads=1),
        views=dict(type="PositiveViews", mode="augment", num_positives=2),
        window=16,
        queue_size=8,
    )
    hook = MomentumEncoderHook()
    runner = SimpleNamespace(model=model, max_iters=10)
    hook.before_train(runner)
    assert model.key_encoder.total_steps == 10
    query = model.net.blocks[0].spatial.mix.weight
    key = model.key_encoder.module["net"].blocks[0].spatial.mix.weight
    torch.testing.assert_close(key, query)  # the key encoder starts as the query encoder
    before = key.clone()
    batch = {"keypoints": torch.randn(4, 2, 16, 5, 1), "label": torch.zeros(4, dtype=torch.long)}
    log = model.train_step(batch, OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.5)))
    assert {"loss", "loss_sequence", "loss_frame", "positive_top1"} <= set(log)
    assert torch.equal(key, before) and not torch.equal(query, before)  # the optimiser moves the query only
    assert int(model.sequence_queue.pointer) == int(model.frame_queue.pointer) == 4
    m = model.key_encoder.key_momentum(int(model.key_encoder.steps))
    assert 0.994 < m < 1
    hook.after_train_iter(runner, 0)
    torch.testing.assert_close(key, m * before + (1 - m) * query)


def test_frame_weight_zero_drops_the_frame_term_and_its_queue():
    model = ContrastivePretrainer(
        net=dict(type="UNIK", in_channels=2, num_joints=5, num_persons=1, num_classes=1, num_heads=1),
        views=dict(type="PositiveViews", mode="augment", num_positives=2),
        window=16,
        queue_size=8,
        frame_weight=0,
    )
    losses = model(torch.randn(4, 2, 16, 5, 1))
    assert model.frame_queue is None and set(losses) == {"loss_sequence", "positive_top1"}


def test_resume_restores_the_queues_and_the_key_encoder(store, augment_run):
    work_dir, _ = augment_run
    path = models_dir() / "pretrain/unik-pretrain_1xb32-augment_store.py"
    cfg, _ = prepare_config(
        Config.fromfile(path),
        store,
        work_dir,
        project_2d=True,
        window=WINDOW,
        epochs=1,
        batch_size=BATCH,
        workers=0,
        resume=True,
    )
    runner = checkpoints.build_runner(cfg)
    saved = checkpoints.load(work_dir / "epoch_1.pth")["state_dict"]
    names = [
        "sequence_queue.keys",
        "sequence_queue.pointer",
        "frame_queue.keys",
        "key_encoder.steps",
        "key_encoder.module.net.blocks.0.spatial.mix.weight",
    ]
    assert not torch.equal(runner.model.state_dict()["sequence_queue.keys"], saved["sequence_queue.keys"])
    with checkpoints.allowed_globals():
        runner.load_or_resume()
    restored = runner.model.state_dict()
    for name in names:
        assert torch.equal(restored[name], saved[name]), name


def test_pixel_joints_reach_the_generator_scaled_to_its_bodies(tmp_path, generator):
    """A 2D store in pixels (Penn Action's kind): the generator modes run, their windows scaled to metres by the
    torso (TORSO_METRES) and back, after the store's own image normalisation."""
    path = tmp_path / "pixels.h5"
    with StoreWriter(path, LAYOUT, coord_dims=2, classes=["slow", "fast"], coordinates="pixel") as writer:
        for k in range(16):
            joints = swinging(12 + 3 * k, amplitude=0.3 + 0.05 * k, speed=0.2 + 0.2 * (k % 2), walk=0.0)[..., :2]
            pixels = joints * np.float32(150 + 10 * k) + np.float32([320, 200])  # bodies of 150-300 px
            split = ("test",) if k % 4 == 3 else ("train",)
            writer.add(
                Clip(id=f"c{k}", keypoints=pixels[:, None], label=k % 2, fps=30.0, splits=split, image_size=(640, 480))
            )
    args = [a for a in SHORT if a != "--project-2d"]
    result = CliRunner().invoke(
        main, ["train", "pretrain", "--store", str(path), "--work-dir", str(tmp_path / "run"), *args,
               "--positives", "compose", "--generator", str(generator)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    cfg = check_run(tmp_path / "run", result.output, "compose")
    assert cfg.trained_on.generator_torso_metres == TORSO_METRES
    shoulders, hips = (
        [LAYOUT.joints.index(f"{side}_{joint}") for side in ("left", "right")] for joint in ("shoulder", "hip")
    )
    assert cfg.model.views.to_metres == dict(shoulders=shoulders, hips=hips, torso=0.44)
    pipeline = [t["type"] for t in cfg.train_dataloader.dataset.pipeline]
    assert "NormalizeImage2D" in pipeline and "CentreSkeleton" not in pipeline  # the store's own normalisation


def test_a_generator_of_another_layout_is_one_line(store, tmp_path):
    other = save_generator(tmp_path / "coco.pth", "coco-17")
    result = pretrain(store, tmp_path / "run", "--positives", "compose", "--generator", other)
    assert result.exit_code == 2
    message = result.output.strip()
    assert "\n" not in message and "'kinect-v1-20'" in message and "'coco-17'" in message
    assert not (tmp_path / "run" / "best.pth").exists()


@pytest.mark.parametrize(
    "args, message",
    [
        (["--positives", "retarget"], "--positives retarget needs --generator"),
        (["--window", "20", "--positives", "compose", "--generator", "GEN"], "multiple of 8"),
        (["--batch-size", "13"], "12 windows, fewer than a batch of 13"),
        (["--generator", "GEN"], "--positives augment uses none"),
    ],
)
def test_mistakes_are_one_line(store, generator, tmp_path, args, message):
    result = pretrain(store, tmp_path, *[generator if a == "GEN" else a for a in args])
    assert result.exit_code == 2 and message in result.output and result.output.count("\n") == 1


def test_3d_joints_need_the_2d_projection_for_the_generator(store, generator, tmp_path):
    args = [a for a in SHORT if a != "--project-2d"]
    result = CliRunner().invoke(
        main,
        [
            "train",
            "pretrain",
            "--store",
            str(store),
            "--work-dir",
            str(tmp_path),
            *args,
            "--positives",
            "retarget",
            "--generator",
            str(generator),
        ],
    )
    assert result.exit_code == 2 and "add --project-2d" in result.output


def test_gaps_are_interpolated_over_time_and_absent_persons_stay_absent():
    keypoints = np.full((5, 2, 3, 2), np.nan, np.float32)  # (T, M, V, C): person 1 absent
    keypoints[:, 0] = np.arange(5, dtype=np.float32)[:, None, None]
    keypoints[1:3, 0, 1] = np.nan  # a gap
    keypoints[:2, 0, 2] = np.nan  # missing at the start: held at its first value
    filled = InterpolateGaps()({"keypoints": keypoints})["keypoints"]
    np.testing.assert_allclose(filled[:, 0, 1, 0], np.arange(5))
    np.testing.assert_allclose(filled[:, 0, 2, 0], [2, 2, 2, 3, 4])
    assert np.isnan(filled[:, 1]).all()


def test_the_queue_holds_at_most_half_the_training_windows():
    assert queue_length(8192, 1020, 32, "s.h5", "train") == 510
    assert queue_length(8192, 40_000, 32, "s.h5", "train") == 8192
    assert queue_length(8192, 40, 32, "s.h5", "train") == 32  # at least one batch of keys
