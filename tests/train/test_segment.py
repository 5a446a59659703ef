"""posekit train segment: windows, upsampling, overlap averaging and AP by hand; training through the command line
on a tiny untrimmed store, from scratch and from a UNIK checkpoint."""

import json

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from posekit import checkpoints
from posekit.cli import main
from posekit.errors import PosekitError
from posekit.sample import LAYOUT, synthetic_clips
from posekit.store import StoreError, StoreWriter
from posekit.synth.untrimmed import synth_untrimmed
from posekit.train.segmentation.metric import average_overlapping, average_precision, frame_accuracy, merge_windows
from posekit.train.segmentation.model import upsample_frames
from posekit.train.segmentation.windows import SequenceWindows, collate_windows, window_starts
from posekit.zoo import models_dir

WINDOW = 16


@pytest.fixture(scope="module")
def stores(tmp_path_factory):
    """20 short synthetic clips of 3 classes (train and test) and their chaining into 10 untrimmed sequences."""
    folder = tmp_path_factory.mktemp("segment")
    with StoreWriter(folder / "clips.h5", LAYOUT, coord_dims=2, classes=["a", "b", "c"]) as writer:
        for clip in synthetic_clips(20, min_frames=12, max_frames=20, num_classes=3):
            writer.add(clip)
    synth_untrimmed(folder / "clips.h5", folder / "untrimmed.h5", clips_per_sequence=2, transition=2, progress=False)
    return folder / "clips.h5", folder / "untrimmed.h5"


def tiny_configs(folder):
    """1 epoch, one person, no workers: UNIK's store config with 16-frame crops, and the segmentation config with
    16-frame windows every 8 frames."""
    one_person = 'dict(type="SelectPersons", num=1)'
    unik, segment = folder / "unik_tiny.py", folder / "segment_tiny.py"
    unik.write_text(
        f'_base_ = ["{models_dir()}/unik/unik_1xb16-joint_store.py"]\n'
        "model = dict(net=dict(num_persons=1))\n"
        "train_cfg = dict(max_epochs=1, val_interval=1)\n"
        'param_scheduler = [dict(type="MultiStepLR", by_epoch=True, milestones=[1], gamma=0.1)]\n'
        f"train_dataloader = dict(batch_size=8, num_workers=0, persistent_workers=False, dataset=dict(pipeline=["
        f'{one_person}, dict(type="RandomTemporalCrop", length=16), dict(type="ReplayPad", length=16)]))\n'
        f"val_dataloader = dict(num_workers=0, persistent_workers=False, dataset=dict(pipeline=[{one_person}]))\n"
        "test_dataloader = val_dataloader\n"
    )
    windows = f"window={WINDOW}, stride={WINDOW // 2}, pipeline=[{one_person}]"
    segment.write_text(
        f'_base_ = ["{models_dir()}/unik_segmentation/unik_1xb16-frame-bce-win64_untrimmed.py"]\n'
        "model = dict(net=dict(num_persons=1))\n"
        "train_cfg = dict(max_epochs=1, val_interval=1)\n"
        'param_scheduler = [dict(type="MultiStepLR", by_epoch=True, milestones=[1], gamma=0.1)]\n'
        f"train_dataloader = dict(batch_size=8, num_workers=0, persistent_workers=False, dataset=dict({windows}))\n"
        f"val_dataloader = dict(batch_size=8, num_workers=0, persistent_workers=False, dataset=dict({windows}))\n"
        "test_dataloader = val_dataloader\n"
    )
    return unik, segment


def run(*args):
    result = CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_average_precision_by_hand():
    # Thresholds 0.9 (1 of 1 right), 0.8 (a tie: 2 of 3), 0.3 (2 of 4), 0.1 (3 of 5); recall 1/3, 2/3, 2/3, 1.
    scores = np.array([0.9, 0.8, 0.8, 0.3, 0.1])
    positives = np.array([1, 0, 1, 0, 1], bool)
    assert average_precision(scores, positives) == pytest.approx(1 / 3 * 1 + 1 / 3 * 2 / 3 + 0 * 2 / 4 + 1 / 3 * 3 / 5)
    assert average_precision(scores[::-1], positives[::-1]) == pytest.approx(34 / 45)  # order of frames is no matter
    assert average_precision(np.array([0.2, 0.7]), np.array([0, 1], bool)) == 1.0
    assert np.isnan(average_precision(scores, np.zeros(5, bool)))


def test_frame_accuracy_counts_labelled_frames_only():
    scores = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.7, 0.3]])
    labels = np.array([[1, 0], [1, 0], [1, 1], [0, 0]], bool)  # right, wrong, right (either class), background
    assert frame_accuracy(scores, labels) == pytest.approx(2 / 3 * 100)


def test_overlapping_windows_average_by_hand():
    first = np.array([[1.0], [2.0], [3.0], [4.0]])  # frames 0-3
    second = np.array([[5.0], [6.0], [7.0], [8.0]])  # frames 2-5
    np.testing.assert_allclose(average_overlapping([(0, first), (2, second)], 6)[:, 0], [1, 2, 4, 5, 7, 8])
    first_labels, second_labels = np.array([[0], [0], [1], [1]], bool), np.ones((4, 1), bool)  # agree on 2-3
    merged = merge_windows(
        [("s", 2, second, second_labels), ("t", 0, first, first_labels), ("s", 0, first, first_labels)]
    )
    assert list(merged) == ["s", "t"]
    np.testing.assert_allclose(merged["s"][0][:, 0], [1, 2, 4, 5, 7, 8])
    np.testing.assert_array_equal(merged["s"][1][:, 0], [0, 0, 1, 1, 1, 1])


def test_windows_cover_every_frame_and_scores_come_back_to_every_frame():
    assert window_starts(10, 4, 3).tolist() == [0, 3, 6]
    assert window_starts(11, 4, 3).tolist() == [0, 3, 6, 7]  # the last window ends at the last frame
    assert window_starts(3, 4, 2).tolist() == [0]
    # Output frame j of the stride-4 stack sits on input frame 4j: scores 0, 4, 8 there give t on frame t.
    upsampled = upsample_frames(torch.tensor([[0.0, 4.0, 8.0]]), 10)
    torch.testing.assert_close(upsampled, torch.tensor([[0.0, 1, 2, 3, 4, 5, 6, 7, 8, 8]]))


def test_sequence_windows_read_frames_and_labels_of_each_window(stores):
    clips, untrimmed = stores
    dataset = SequenceWindows(
        str(untrimmed), split="test", window=WINDOW, stride=WINDOW // 2, pipeline=[dict(type="SelectPersons", num=1)]
    )
    store = dataset.store
    for i in range(len(dataset)):
        sample = dataset[i]
        index, start = dataset.windows[i]
        whole = store[int(index)]
        np.testing.assert_array_equal(sample["frame_labels"].numpy(), whole.labels[start : start + WINDOW])
        assert sample["id"] == whole.id and sample["keypoints"].shape[1] == len(sample["frame_labels"])
    batch = collate_windows([dataset[0], dataset[len(dataset) - 1]])
    assert batch["frame_labels"].shape == (2, WINDOW, 3)
    assert batch["start"].tolist() == dataset.windows[[0, -1], 1].tolist()
    cropping = SequenceWindows(
        str(untrimmed), split="test", window=WINDOW, pipeline=[dict(type="RandomTemporalCrop", length=4)]
    )
    with pytest.raises(PosekitError, match="must keep every frame"):
        cropping[0]
    with pytest.raises(StoreError, match="posekit synth untrimmed"):
        SequenceWindows(str(clips), split="test")


def test_segment_trains_and_scores_every_test_frame(stores, tmp_path):
    _, untrimmed = stores
    _, config = tiny_configs(tmp_path)
    out = run("train", "segment", "--store", untrimmed, "--work-dir", tmp_path / "run", "--config", config)
    assert "frame accuracy" in out and "frame mAP" in out and str(tmp_path / "run" / "metrics.json") in out
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert {"frame_acc", "mAP"} <= set(metrics) and metrics["test_split_clips"] == 2
    test_sequences = np.load(tmp_path / "run" / "frame_scores.npz")
    assert metrics["frames"] == sum(len(scores) for scores in test_sequences.values())  # every frame, once
    assert metrics["background_frames"] == 2 * 2  # one 2-frame transition per test sequence
    assert set(json.loads((tmp_path / "run" / "class_ap.json").read_text())) == {"a", "b", "c"}
    assert (tmp_path / "run" / "best.pth").is_file()


def test_segment_from_a_unik_checkpoint_loads_every_backbone_tensor(stores, tmp_path):
    clips, untrimmed = stores
    unik_config, config = tiny_configs(tmp_path)
    run("train", "unik", "--store", clips, "--work-dir", tmp_path / "pre", "--config", unik_config, "--holdout", "0")
    out = run(
        "train",
        "segment",
        "--store",
        untrimmed,
        "--work-dir",
        tmp_path / "lin",
        "--config",
        config,
        "--init",
        tmp_path / "pre" / "best.pth",
        "--linear",
        "--label-fraction",
        "0.5",
    )
    before = checkpoints.load(tmp_path / "pre" / "best.pth")["state_dict"]
    after = checkpoints.load(tmp_path / "lin" / "best.pth")["state_dict"]
    backbone = [k for k in before if not k.startswith("net.head.")]
    assert f"{len(backbone)} of {len(backbone)} backbone tensors loaded" in out
    assert all(torch.equal(before[k], after[k]) for k in backbone)  # loaded, then frozen (BN statistics too)
    assert not torch.equal(before["net.head.fc.weight"], after["net.head.fc.weight"])
    metrics = json.loads((tmp_path / "lin" / "metrics.json").read_text())
    assert metrics["linear"] and metrics["label_fraction"] == 0.5 and metrics["init_tensors"]["loaded"] == len(backbone)
