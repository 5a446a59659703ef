"""T-MOR (posekit train tmor): eq. 6.6 against hand-computed values, the video term's queue, the text term's masks,
the feature rows StoreClips reads, and a short run on template captions whose encoder posekit train unik --init
loads whole."""

import json
import math

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from mmengine.optim import OptimWrapper

from posekit import checkpoints
from posekit.cli import main
from posekit.nets.tmor import class_text_infonce
from posekit.store import SkeletonStore
from posekit.train.datasets import StoreClips, collate_store_clips
from posekit.train.tmor import TMOR
from posekit.train.transfer import recorded_encoder

SHORT = ["--epochs", "1", "--batch-size", "4", "--workers", "0", "--seed", "0"]


pytestmark = pytest.mark.usefixtures("one_thread")


def invoke(*args):
    result = CliRunner().invoke(main, [str(a) for a in args])
    return result.exit_code, result.output


@pytest.fixture(scope="module")
def text_store(sample_store, tmp_path_factory):
    """The sample store (4 actions, 20 training clips) with template captions and their bag-of-words rows."""
    path = tmp_path_factory.mktemp("tmor") / "captioned.h5"
    assert invoke("text", "caption", sample_store, "-o", path)[0] == 0
    assert invoke("text", "embed", path, "--encoder", "bow")[0] == 0
    return path


@pytest.fixture(scope="module")
def tmor_run(text_store, tmp_path_factory):
    work_dir = tmp_path_factory.mktemp("tmor_run")
    code, output = invoke("train", "tmor", "--store", text_store, "--work-dir", work_dir, *SHORT)
    assert code == 0, output
    return work_dir, output


def test_eq_6_6_counts_only_other_classes_as_negatives():
    motion = torch.tensor([[1.0, 0.0], [0.6, 0.8], [0.0, 1.0]])
    texts = torch.tensor([[0.8, 0.6], [1.0, 0.0], [0.0, 1.0]])
    labels = torch.tensor([0, 0, 1])  # clips 0 and 1 share a class: neither is the other's negative
    # clip 0: positive cos 0.8, negative t2 (cos 0); clip 1: positive 0.6, negative t2 (0.8);
    # clip 2: positive 1, negatives t0 (0.6) and t1 (0); temperature 0.5
    expected = (
        math.log(1 + math.exp(-1.6)) + math.log(1 + math.exp(0.4)) + math.log(1 + math.exp(-0.8) + math.exp(-2))
    ) / 3
    loss = class_text_infonce(motion, texts, labels, temperature=0.5)
    assert loss.item() == pytest.approx(expected, rel=1e-6)
    # class texts: class 0's is no negative of clips 0 and 1, class 2's (cos 0, 0.8, 1) is one of every clip
    class_texts, class_labels = torch.tensor([[1.0, 0.0], [0.0, 1.0]]), torch.tensor([0, 2])
    with_classes = (
        math.log(1 + 2 * math.exp(-1.6))
        + math.log(1 + 2 * math.exp(0.4))
        + math.log(1 + math.exp(-0.8) + 2 * math.exp(-2) + 1)  # t0, t1, class 0's text (cos 0), class 2's (cos 1)
    ) / 3
    loss = class_text_infonce(motion, texts, labels, class_texts, class_labels, temperature=0.5)
    assert loss.item() == pytest.approx(with_classes, rel=1e-6)


def tiny_tmor(**extra) -> TMOR:
    torch.manual_seed(0)
    return TMOR(
        net=dict(type="UNIK", in_channels=2, num_joints=5, num_persons=1, num_classes=1, num_heads=1),
        views=dict(type="PositiveViews", mode="augment", num_positives=1),
        window=16,
        queue_size=8,
        frame_weight=0.0,
        text_dim=6,
        num_classes=3,
        **extra,
    )


def test_the_text_term_skips_clips_without_label_or_caption_and_uses_the_training_classes_texts():
    model = tiny_tmor()
    class_rows = torch.randn(3, 6)
    class_rows[2] = float("nan")  # a class without text is never a negative
    model.set_class_texts(class_rows, torch.tensor([True, False, True]))  # class 1 did not train
    assert model.class_known.tolist() == [True, False, False]
    motion = torch.nn.functional.normalize(torch.randn(4, 128), dim=-1)
    texts = torch.randn(4, 6)
    texts[1] = float("nan")
    labels = torch.tensor([0, 1, -1, 1])
    kept = [0, 3]  # clip 1 has no caption, clip 2 no label
    project = model.text_projection
    expected = class_text_infonce(
        motion[kept],
        project(torch.nn.functional.normalize(texts[kept], dim=-1)),
        labels[kept],
        project(torch.nn.functional.normalize(class_rows[:1], dim=-1)),
        torch.tensor([0]),
        model.temperature,
    )
    torch.testing.assert_close(model.text_loss(motion, texts, labels), expected)
    assert model.text_loss(motion, texts, torch.full((4,), -1)).item() == 0


def test_the_video_term_trains_and_enqueues_the_clips_with_video_features():
    model = tiny_tmor(video_feature="video", video_dim=5)
    videos = torch.randn(4, 5)
    videos[3] = float("nan")
    batch = {
        "keypoints": torch.randn(4, 2, 16, 5, 1),
        "label": torch.tensor([0, 1, 0, 1]),
        "features": {"text": torch.randn(4, 6), "video": videos},
    }
    before = model.video_queue.keys.clone()
    log = model.train_step(batch, OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1)))
    assert {"loss", "loss_sequence", "loss_text", "loss_video"} <= set(log)
    assert all(torch.isfinite(value.detach()) for value in log.values())
    assert int(model.video_queue.pointer) == 3  # the clip without video features is not enqueued
    torch.testing.assert_close(model.video_queue.keys[:3], torch.nn.functional.normalize(videos[:3], dim=-1))
    torch.testing.assert_close(model.video_queue.keys[3:], before[3:])


def test_store_clips_carry_the_feature_rows_a_config_asks_for(text_store):
    dataset = StoreClips(str(text_store), split="train", feature_rows=["text"])
    samples = [dataset[0], dataset[1]]
    with SkeletonStore(text_store) as store:
        for sample in samples:
            np.testing.assert_array_equal(sample["features"]["text"].numpy(), store.feature("text", sample["index"]))
    batch = collate_store_clips(samples)
    assert batch["features"]["text"].shape == (2, 1024) and batch["keypoints"].shape[0] == 2
    assert "features" not in StoreClips(str(text_store), split="train")[0]  # none asked: as before
    with pytest.raises(Exception, match="no feature array 'video'"):
        StoreClips(str(text_store), feature_rows=["video"])


def test_a_recorded_encoder_name_gives_that_encoder_back():
    assert recorded_encoder("bow-64").dim == 64 and recorded_encoder("bow-1024").name == "bow-1024"


def test_train_tmor_end_to_end(tmor_run, text_store):
    work_dir, output = tmor_run
    assert "trained T-MOR for 1 epochs on 20 windows" in output and "L_mm" in output and "L_mt" in output
    assert str(work_dir / "best.pth") in output
    metrics = json.loads((work_dir / "metrics.json").read_text())
    assert metrics["train_classes"] == ["wave", "squat", "jump", "walk"] and metrics["text_encoder"] == "bow-1024"
    assert metrics["class_text_negatives"] == 4 and metrics["queue_size"] == 10  # half the 20 windows
    assert all(np.isfinite(metrics[k]) for k in ("loss", "loss_sequence", "loss_text", "class_top1"))
    state = checkpoints.load(work_dir / "best.pth")
    cfg = checkpoints.training_config(state, work_dir / "best.pth")
    assert cfg.model.text_dim == 1024 and cfg.trained_on.text_encoder == "bow-1024"
    assert [t["type"] for t in cfg.embed_pipeline] == ["NormalizeImage2D", "SelectPersons"]  # whole clips
    with SkeletonStore(text_store) as store:  # the class texts it contrasted with: the store's class rows
        np.testing.assert_allclose(state["state_dict"]["class_texts"].numpy(), store.class_feature("text"))


def test_unik_init_loads_the_whole_tmor_encoder(tmor_run, text_store, tmp_path):
    work_dir, _ = tmor_run
    code, output = invoke(
        "train", "unik", "--store", text_store, "--work-dir", tmp_path, "--init", work_dir / "best.pth", "--linear",
        "--epochs", "1", "--batch-size", "4", "--workers", "0",
    )  # fmt: skip
    assert code == 0, output
    counts = json.loads((tmp_path / "metrics.json").read_text())["init_tensors"]
    assert counts["loaded"] == counts["expected"] > 200
    pretrained = checkpoints.load(work_dir / "best.pth")["state_dict"]
    trained = checkpoints.load(tmp_path / "best.pth")["state_dict"]
    frozen = [k for k in trained if k.startswith("net.blocks.") and k.endswith("weight")]
    assert frozen and all(torch.equal(trained[k], pretrained[k]) for k in frozen)


def test_missing_text_features_are_one_line(text_store, tmp_path):
    code, output = invoke(
        "train", "tmor", "--store", text_store, "--work-dir", tmp_path, *SHORT, "--text-features", "x"
    )
    assert code == 2 and "no per-clip features 'x' (--text-features)" in output and "\n" not in output.strip()


def test_a_frozen_text_space_contrasts_a_second_motion_head_with_the_unprojected_texts():
    model = tiny_tmor(text_head="frozen")
    assert isinstance(model.text_projection, torch.nn.Identity) and model.motion_text_projection is not None
    model.set_class_texts(torch.randn(3, 6), torch.tensor([True, True, True]))
    pooled = torch.randn(4, 256)
    motion = model.text_space(torch.zeros(4, 128), pooled)  # phi(E_M) of eq. 6.3 is not used
    torch.testing.assert_close(motion, torch.nn.functional.normalize(model.motion_text_projection(pooled), dim=-1))
    torch.testing.assert_close(model.embed_pooled(pooled), motion)
    texts, labels = torch.randn(4, 6), torch.tensor([0, 1, 2, 0])
    expected = class_text_infonce(
        motion, torch.nn.functional.normalize(texts, dim=-1), labels,
        torch.nn.functional.normalize(model.class_texts, dim=-1), torch.arange(3), model.temperature,
    )  # fmt: skip
    torch.testing.assert_close(model.text_loss(motion, texts, labels), expected)
    with pytest.raises(ValueError, match="text_head is one of mlp, linear, frozen"):
        tiny_tmor(text_head="deep")


def test_the_command_line_offers_the_models_text_heads():
    from posekit.cli.tmor import TEXT_HEADS as offered
    from posekit.train.tmor import TEXT_HEADS

    assert offered == TEXT_HEADS


def test_a_text_weight_of_zero_trains_on_motion_alone(text_store, tmp_path):
    code, output = invoke("train", "tmor", "--store", text_store, "--work-dir", tmp_path, "--text-weight", "0", *SHORT)
    assert code == 0, output
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["text_weight"] == 0 and metrics["loss_text"] == 0
    assert metrics["loss"] == pytest.approx(metrics["loss_sequence"], rel=1e-6)
