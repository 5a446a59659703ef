import cv2
import h5py
import numpy as np
import pytest
import torch
from click.testing import CliRunner

from posekit import checkpoints
from posekit.cli import main
from posekit.errors import InputError
from posekit.layouts import Layout
from posekit.rodent.selfsup.crops import Track, read_crops, square_boxes, store_tracks
from posekit.store import Clip, StoreWriter
from posekit.train.overrides import config_path
from posekit.train.sequence_order import SequenceOrderModel
from posekit.train.sequence_pairs import (
    PermutedSequencePairs,
    augment,
    collate_pairs,
    non_identity_permutation,
    save_crops,
    sequence_starts,
)

LAYOUT = Layout(name="blob-2", joints=("head", "tail"))


def write_video(path, frames):
    """Lossless (FFV1) so that pixel values survive: each frame of ``frames`` (T, H, W) uint8 grey."""
    height, width = frames.shape[1:]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"FFV1"), 25, (width, height))
    for frame in frames:
        writer.write(cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR))
    writer.release()
    return path


def write_tracks(path, video, frame_index, boxes):
    kp = np.stack([boxes[:, :2], boxes[:, 2:]], axis=1)[:, None].astype(np.float32)
    with StoreWriter(path, LAYOUT, coord_dims=2, provenance={"step": "test"}) as w:
        w.add(
            Clip(
                id="clip",
                keypoints=kp,
                box=boxes[:, None].astype(np.float32),
                frame_index=frame_index,
                source=str(video),
                fps=25.0,
            )
        )
    return path


def test_negatives_are_never_the_real_order():
    generator = torch.Generator().manual_seed(0)
    assert all(non_identity_permutation(2, generator).tolist() == [1, 0] for _ in range(200))
    for length in (3, 4, 8):
        for _ in range(300):
            order = non_identity_permutation(length, generator)
            assert sorted(order.tolist()) == list(range(length)) and order.tolist() != list(range(length))
    with pytest.raises(ValueError):
        non_identity_permutation(1)


def test_batches_interleave_real_and_permuted_with_labels_one_and_zero():
    real = [torch.arange(4, dtype=torch.uint8).view(4, 1, 1).expand(4, 3, 3) + 10 * i for i in range(3)]
    batch = collate_pairs([{"real": r, "permuted": r[[3, 1, 0, 2]]} for r in real])
    assert batch["crops"].shape == (6, 4, 1, 3, 3)
    assert batch["label"].tolist() == [1, 0, 1, 0, 1, 0]
    for i in range(3):
        torch.testing.assert_close(batch["crops"][2 * i, :, 0], real[i])
        torch.testing.assert_close(batch["crops"][2 * i + 1, :, 0], real[i][[3, 1, 0, 2]])


def test_pairs_share_one_augmentation_and_differ_only_in_order(tmp_path):
    crops = np.zeros((10, 6, 6), np.uint8)
    crops[:, 0, 0] = 10 + 20 * np.arange(10)  # one marked corner pixel, a value per frame that gains keep apart
    boxes = np.zeros((10, 4))
    path = save_crops([Track(0, 0, np.arange(10), boxes, crops)], tmp_path / "crops.npz")
    plain = PermutedSequencePairs(str(path), length=4, stride=3, augment=False)
    assert len(plain) == 3  # starts 0, 3, 6
    np.testing.assert_array_equal(plain[1]["real"].numpy(), crops[3:7])
    torch.manual_seed(0)
    for item in PermutedSequencePairs(str(path), length=4, stride=1):
        real, permuted = item["real"], item["permuted"]
        corners = real[:, [0, 0, -1, -1], [0, -1, 0, -1]]
        assert (corners > 0).sum() == 4 and (corners > 0).sum(0).max() == 4  # the mark moved to one corner
        order = [int(torch.nonzero((real == frame).all(dim=(1, 2)))[0]) for frame in permuted]
        assert sorted(order) == [0, 1, 2, 3] and order != [0, 1, 2, 3]
    assert augment(torch.full((2, 3, 3), 200, dtype=torch.uint8)).unique().numel() == 1  # one gain per sequence


def test_order_loss_on_a_hand_computed_batch():
    model = SequenceOrderModel(net=dict(type="CNNLSTM", channels=(4,), grid=1, posture_dim=2, hidden=2))
    # logits (0, ln 3) -> P(real) = 3/4; (0, 0) -> 1/2: loss = mean(-ln 3/4, -ln 1/2) for labels real, permuted

    class FixedLogits(torch.nn.Module):
        def forward(self, crops):
            return torch.tensor([[0.0, np.log(3.0)], [0.0, 0.0]])

    model.net = FixedLogits()
    out = model(torch.zeros(2, 3, 1, 8, 8, dtype=torch.uint8), torch.tensor([1, 0]), mode="loss")
    assert out["loss"].item() == pytest.approx((-np.log(0.75) - np.log(0.5)) / 2)
    assert out["accuracy"].item() == 1.0  # argmax: class 1 for the real sequence, 0 (first of a tie) for the other


def test_windows_only_cover_valid_frames():
    valid = np.array([1, 1, 1, 0, 1, 1, 1, 1, 1], bool)
    assert sequence_starts(valid, 3).tolist() == [0, 4, 5, 6]
    assert sequence_starts(valid, 3, stride=2).tolist() == [0, 4, 6]


def test_crops_are_frame_exact(tmp_path):
    frames = (np.arange(30, dtype=np.uint8) * 8)[:, None, None] * np.ones((1, 40, 50), np.uint8)  # frame k = 8k
    video = write_video(tmp_path / "k.avi", frames)
    wanted = np.array([3, 17, 4, 4, 29, 0])  # out of order, repeated, with gaps
    boxes = np.tile([10.0, 5.0, 30.0, 25.0], (len(wanted), 1))
    boxes[1] = [-20, -20, 5, 5]  # mostly outside the frame: padded with the edge, still frame 17's value
    boxes[2] = np.nan  # no box: a black crop
    crops, past_end = read_crops(video, wanted, boxes, 12)
    assert crops.shape == (6, 12, 12) and not past_end.any()
    means = crops.reshape(6, -1).mean(1)
    expected = 8.0 * wanted
    expected[2] = 0
    np.testing.assert_allclose(means, expected, atol=0.5)
    # a keypoint file with rows past the video's last frame: those frames get no crop, the others still do
    crops, past_end = read_crops(video, np.array([28, 29, 30, 31]), np.tile([0.0, 0, 8, 8], (4, 1)), 4)
    assert past_end.tolist() == [False, False, True, True]
    np.testing.assert_allclose(crops.reshape(4, -1).mean(1), [224, 232, 0, 0], atol=0.5)
    with pytest.raises(InputError, match="none of the frames"):
        read_crops(video, np.array([30]), boxes[:1], 12)


def test_crops_follow_the_tracks_store_boxes(tmp_path):
    frames = np.zeros((10, 60, 80), np.uint8)
    for k in range(10):
        frames[k, 20:30, 5 * k : 5 * k + 10] = 200  # a bright square moving 5 px per frame
    video = write_video(tmp_path / "v.avi", frames)
    boxes = np.array([[5 * k, 20, 5 * k + 10, 30] for k in range(10)], np.float64)
    store = write_tracks(tmp_path / "tracks.h5", video.name, np.arange(10), boxes)  # source relative to the store
    (track,) = store_tracks(store, 16, margin=1.0, progress=False)
    np.testing.assert_allclose(track.boxes, square_boxes(boxes, 1.0))
    assert (track.crops[:, 3:13, 3:13] > 150).all()  # the square fills every crop: the crop moved with it


def test_one_epoch_of_training_writes_a_checkpoint_and_embeddings(tmp_path):
    rng = np.random.default_rng(0)
    t = np.arange(24)
    frames = rng.integers(0, 40, size=(24, 48, 64)).astype(np.uint8)
    for k in t:  # a blob that walks and stretches
        cv2.ellipse(frames[k], (10 + k, 24), (6 + k % 4, 4), 0, 0, 360, 220, -1)
    video = write_video(tmp_path / "walk.avi", frames)
    boxes = np.stack([t + 2, np.full(24, 18), t + 20, np.full(24, 30)], axis=1).astype(np.float64)
    boxes[12] = np.nan  # a lost detection: no sequence crosses it
    store = write_tracks(tmp_path / "tracks.h5", video, t, boxes)
    config = tmp_path / "tiny.py"
    config.write_text(
        f"_base_ = [{str(config_path('lstm-selfsup', None))!r}]\ncrop_size = 16\n"
        "model = dict(net=dict(channels=(4, 8), grid=2, posture_dim=8))\n"
    )
    work = tmp_path / "work"
    result = CliRunner().invoke(
        main,
        [
            "train",
            "lstm-selfsup",
            "--store",
            str(store),
            "--work-dir",
            str(work),
            "--config",
            str(config),
            "--epochs",
            "1",
            "--seq-len",
            "4",
            "--stride",
            "1",
            "--batch-pairs",
            "3",
            "--hidden",
            "6",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "embedded 23 frames and 17 sequences" in result.output  # runs of 12 and 11 frames: 9 + 8 windows of 4
    state = checkpoints.load(work / "model.pth", map_location="cpu")
    assert state["meta"]["epoch"] == 1 and "net.lstm.weight_hh_l0" in state["state_dict"]
    with h5py.File(work / "embeddings.h5") as f:
        assert f["posture"].shape == (24, 8) and np.isnan(f["posture"][12]).all()
        assert not np.isnan(f["posture"][:12]).any()
        assert f["behaviour"].shape == (17, 6) and f.attrs["seq_len"] == 4
        assert f["window_start"][()].tolist() == list(range(0, 9)) + list(range(13, 21))  # none crosses frame 12
        np.testing.assert_array_equal(f["frame_index"][()], t)


def test_crops_around_real_keypoints_of_a_video_one_frame_shorter_than_its_file(tmp_path):
    from posekit.convert import convert
    from tests.conftest import real_file

    csv = real_file("animal/vame_sample/tests_project_sample_data__cropped_video.csv")
    video = real_file("animal/vame_sample/tests_project_sample_data__cropped_video.mp4")
    store = tmp_path / "vame.h5"
    convert("dlc", [csv], store, progress=False)
    lines = []
    (track,) = store_tracks(store, 24, video=video, progress=False, warn=lines.append)
    assert len(lines) == 1 and "ends before frame 749" in lines[0]  # 750 rows of keypoints, 749 video frames
    assert track.valid.sum() == 749 and not track.valid[749]
    sides = track.boxes[:749, 2] - track.boxes[:749, 0]
    assert np.ptp(sides) < 1e-6 and 50 < sides[0] < 1064  # one fixed crop side, smaller than the frame
    assert (track.crops[:749].reshape(749, -1).std(1) > 5).mean() > 0.99 and not track.crops[749].any()
