"""Training the motion generator: pairs and their ground truth, the losses, the dictionary under training, the
command end to end on renders of a tiny 3D store."""

import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from click.testing import CliRunner
from mmengine.config import Config
from mmengine.optim import OptimWrapper

from posekit.cli.train import motion_generator
from posekit.store import SkeletonStore
from posekit.synth.render import synth_views
from posekit.train.motion_generator import feature_stats
from posekit.train.retarget_pairs import RetargetPairs
from posekit.train.retargeting import RetargetingModel
from posekit.zoo import models_dir
from tests.synth.tiny import write_tiny_store


@pytest.fixture(scope="module")
def views(tmp_path_factory):
    folder = tmp_path_factory.mktemp("motion_generator")
    write_tiny_store(folder / "tiny.h5", motions=4, frames=40)
    synth_views(
        folder / "tiny.h5", folder / "views.h5", bodies=2, yaws=(-30, 0, 30), split="train", seed=0, progress=False
    )
    return folder / "views.h5"


def _ids(renders: dict, window: torch.Tensor) -> tuple[int, int, int]:
    """(motion, body, view) of the one render with ``window`` among its frames."""
    n = len(window)
    hits = [
        ids
        for ids, kp in renders.items()
        for start in range(len(kp) - n + 1)
        if np.array_equal(kp[start : start + n], window.numpy())
    ]
    assert len(hits) == 1
    return hits[0]


@pytest.mark.parametrize("part", ["train", "val"])
def test_pairs_come_with_their_retargeting_ground_truth(views, part):
    data = RetargetPairs(str(views), part=part, window=16, stride=16, val_bodies=1)
    held = lambda static: static[0] == 1 or static[1] == 1  # noqa: E731  the last body; view 1 of 3 (yaw 0)
    assert data.statics and all(held(s) == (part == "val") for s in data.statics)
    with SkeletonStore(views) as store:
        ids = zip(*(store.feature(name)[:, 0].astype(int).tolist() for name in ("motion_id", "body_id", "view_id")))
        renders = {key: store[i].keypoints[:, 0] for i, key in enumerate(ids)}
    for index in (0, len(data) - 1):
        sample = data[index]
        a, b, ab, ba = (_ids(renders, sample[k]) for k in ("a", "b", "ab", "ba"))
        assert a[0] != b[0] and a[1:] != b[1:]  # other motion, other body or view
        assert ab == (a[0], *b[1:]) and ba == (b[0], *a[1:])
        assert all(held(x[1:]) == (part == "val") for x in (a, b))


def test_val_pairs_are_fixed_and_short_motions_are_padded(views):
    first = RetargetPairs(str(views), part="val", window=64, min_frames=32)
    assert len(first) == 3  # one window per training motion, 40 frames padded to 64
    sample = first[0]
    torch.testing.assert_close(sample["a"][40:], sample["a"][39:40].expand(24, -1, -1))
    torch.testing.assert_close(RetargetPairs(str(views), part="val", window=64)[2]["b"], first[2]["b"])


def test_the_losses_of_eq_4_4(views):
    data = RetargetPairs(str(views), part="val", window=16, stride=16)
    batch = {k: torch.stack([data[i][k] for i in range(3)]) for k in ("a", "b", "ab", "ba")}
    mean, std = feature_stats(data, root=1)
    model = RetargetingModel(
        dict(type="MotionGenerator", num_joints=20, root=1, mean=mean, std=std), triplet_weight=0.5, velocity_weight=0.1
    ).eval()
    losses = model(**batch)
    net = model.net
    fa, fb, fab, fba = (net.to_features(batch[k]) for k in ("a", "b", "ab", "ba"))
    own = (F.mse_loss(net(fa), fa) + F.mse_loss(net(fb), fb)) / 2
    cross = (F.mse_loss(net.retarget(fa, fb), fab) + F.mse_loss(net.retarget(fb, fa), fba)) / 2
    torch.testing.assert_close(losses["loss_self"], own)
    torch.testing.assert_close(losses["loss_target"], cross)
    assert set(losses) == {"loss_self", "loss_target", "loss_triplet", "loss_velocity"}
    (ma, sa), (mb, sb), (mab, sab), (mba, sba) = (net.encode(f) for f in (fa, fb, fab, fba))

    def triplet(anchor, positive, negative):  # margin 1, Euclidean distances
        distance = lambda x, y: (x.flatten(1) - y.flatten(1)).norm(dim=1)  # noqa: E731
        return (distance(anchor, positive) - distance(anchor, negative) + 1).clamp(min=0).mean()

    expected = 0.5 * (triplet(ma, mab, mb) + triplet(mb, mba, ma) + triplet(sa, sba, sb) + triplet(sb, sab, sa))
    torch.testing.assert_close(losses["loss_triplet"], expected, rtol=1e-4, atol=1e-5)
    outputs = torch.cat([net(fa), net(fb), net.retarget(fa, fb), net.retarget(fb, fa)])
    velocity = F.mse_loss(outputs.diff(dim=2), torch.cat([fa, fb, fab, fba]).diff(dim=2))
    torch.testing.assert_close(losses["loss_velocity"], 0.1 * velocity)
    with torch.no_grad():
        rows = model(**batch, mode="predict")
        onto_b, onto_a = net.retarget(fa, fb)[0], net.retarget(fb, fa)[0]
        first = (((onto_b - fab[0]) ** 2).mean() + ((onto_a - fba[0]) ** 2).mean()) / 2
    assert len(rows) == 3 and rows[0]["retarget_mse"] == pytest.approx(float(first), rel=1e-5)
    assert "loss_triplet" not in RetargetingModel(
        dict(type="MotionGenerator", num_joints=20, root=1), triplet_weight=0
    ).eval()(**batch)


def test_the_dictionary_is_orthonormal_after_every_optimiser_step(views):
    data = RetargetPairs(str(views), part="train", window=16, stride=16)
    torch.manual_seed(0)
    model = RetargetingModel(dict(type="MotionGenerator", num_joints=20, root=1))
    wrapper = OptimWrapper(torch.optim.Adam(model.parameters(), lr=0.05))
    start = model.net.dictionary.detach().clone()
    for step in range(3):
        batch = {k: torch.stack([data[i][k] for i in range(4)]) for k in ("a", "b", "ab", "ba")}
        model.train_step(batch, wrapper)
        basis = model.net.basis()
        torch.testing.assert_close(basis.T @ basis, torch.eye(160), atol=1e-5, rtol=0)
    assert not torch.allclose(model.net.dictionary, start)  # it did learn


def test_one_epoch_through_the_command_writes_a_checkpoint_and_metrics(views, tmp_path):
    config = tmp_path / "tiny.py"
    config.write_text(
        f"_base_ = [{str(models_dir() / 'motion_generator/motion-generator_1xb64_nw-ucla-views.py')!r}]\n"
        "pairs = dict(window=16, stride=16)\n"
        "train_dataloader = dict(dataset=pairs)\nval_dataloader = dict(dataset=pairs)\n"
        "test_dataloader = dict(dataset=pairs)\n"
    )
    work_dir = tmp_path / "run"
    result = CliRunner().invoke(
        motion_generator,
        [
            "--store",
            str(views),
            "--work-dir",
            str(work_dir),
            "--config",
            str(config),
            "--epochs",
            "1",
            "--batch-size",
            "4",
            "--workers",
            "0",
            "--seed",
            "3",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "retargeting MSE" in result.output
    assert (work_dir / "epoch_1.pth").is_file()
    metrics = json.loads((work_dir / "metrics.json").read_text())
    assert metrics["epochs"] == 1 and metrics["seed"] == 3 and metrics["test_pairs"] == 6  # 3 motions x 2 windows
    assert all(np.isfinite(metrics[k]) for k in ("retarget_mse", "self_mse", "copy_mse", "retarget_mpjpe"))
    # the z-score statistics travel with the config, so inference normalises as training did
    dumped = Config.fromfile(work_dir / "tiny.py")
    assert len(dumped.model.net.mean) == len(dumped.model.net.std) == 40
