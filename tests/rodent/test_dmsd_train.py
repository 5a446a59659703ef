"""Training DMSD on a labelled arena store: windows, metrics by hand, the alternating updates, the command."""

import json
import math

import h5py
import numpy as np
import pytest
import torch
from click.testing import CliRunner
from mmengine.optim import OptimWrapper

from posekit.cli import main
from posekit.rodent.ratpose.arena import INDIVIDUALS, SCENARIOS, frames_path, generate
from posekit.rodent.ratpose.labels import CLASSES, clip_meta, label_store
from posekit.store import SkeletonStore
from posekit.train.dmsd import position_metrics
from posekit.train.position_predictor import PositionPredictor
from posekit.train.position_windows import PositionWindows
from posekit.zoo import models_dir

TINY = """_base_ = [{base!r}]
windows = dict(type="PositionWindows", store=None, clip_frames=4, stride=2, sample_step=4)
train_dataloader = dict(batch_size=8, dataset=windows)
test_dataloader = dict(dataset=windows)
model = dict(net=dict(widths=(4, 8, 8), removal_hidden=4))
"""


@pytest.fixture(scope="module")
def labelled(tmp_path_factory):
    folder = tmp_path_factory.mktemp("dmsd")
    generate(
        folder / "arena.h5",
        scenarios=SCENARIOS[:2],
        individuals=INDIVIDUALS[:2],
        sessions=2,
        seconds=8,
        size=32,
        test_scenarios=("maze",),
        test_individuals=("B",),
        progress=False,
    )
    label_store(folder / "arena.h5", folder / "labelled.h5", horizon=1.0)
    return folder / "labelled.h5"


def test_position_metrics_by_hand():
    labels = np.array([0, 0, 0, 0, 4, 4, 2])
    predicted = np.array([0, 0, 0, 4, 4, 0, 1])
    m = position_metrics(predicted, labels)
    per_class = [75.0, 50.0, 0.0]  # up 3/4, middle 1/2, left 0/1
    assert m["top1"] == pytest.approx(400 / 7)
    assert m["mean_class_acc"] == pytest.approx(np.mean(per_class))
    assert m["class_acc_std"] == pytest.approx(np.std(per_class))
    assert m["per_class_acc"] == {"up": 75.0, "left": 0.0, "middle": 50.0}


def test_windows_read_every_stride_th_frame_and_group_by_scenario_and_session(labelled):
    data = PositionWindows(str(labelled), "train_scenario", clip_frames=4, stride=2, sample_step=3)
    assert len(data) > 0 and (data.labels >= 0).all() and (data.ends >= 6).all()
    sample = data[len(data) - 1]
    clip_id, end = sample["id"].split("@")
    with h5py.File(frames_path(labelled.with_name("arena.h5"))) as f:
        video = f["videos"][clip_id][()]
    expected = video[int(end) - 6 : int(end) + 1 : 2] / 255
    assert sample["frames"].shape == (4, 1, 32, 32)
    assert torch.allclose(sample["frames"][:, 0], torch.from_numpy(expected).float())
    with SkeletonStore(labelled) as s:
        metas = [clip_meta(t) for t in s.column("text")]
    for i in range(len(data)):
        for j in (0, len(data) - 1):
            a, b = metas[data.clips[i]], metas[data.clips[j]]
            same = (a["scenario"], a["session"]) == (b["scenario"], b["session"])
            assert (data.groups[i] == data.groups[j]) == same


class RecordingWrapper(OptimWrapper):
    """Remembers which parameters had gradients at each optimiser step."""

    def __init__(self, model, **kwargs):
        super().__init__(**kwargs)
        self.names = {id(p): n for n, p in model.named_parameters()}
        self.steps = []

    def step(self, **kwargs):
        self.steps.append(
            {
                ".".join(self.names[id(p)].split(".")[:2])
                for group in self.optimizer.param_groups
                for p in group["params"]
                if p.grad is not None
            }
        )
        super().step(**kwargs)


def test_one_iteration_alternates_feature_and_classification_updates():
    torch.manual_seed(0)
    model = PositionPredictor(net=dict(type="DMSD", segments=4, widths=(4, 8, 8), removal_hidden=4))
    wrapper = RecordingWrapper(model, optimizer=torch.optim.SGD(model.parameters(), lr=0.1))
    batch = {
        "frames": torch.rand(4, 4, 1, 32, 32),
        "label": torch.tensor([0, 1, 4, 4]),
        "group": torch.tensor([0, 0, 1, 1]),
        "id": list("abcd"),
    }
    log = model.train_step(batch, wrapper)
    feature_step, cls_step = wrapper.steps
    assert "clustering.centres" in feature_step and not any(n.startswith("net.head") for n in feature_step)
    assert "net.head" in cls_step and "clustering.centres" not in cls_step
    for both in ("net.motion_net", "net.scenario_net", "net.motion_removal", "net.scenario_removal"):
        assert both in feature_step and both in cls_step
    assert math.isclose(log["loss"].item(), (log["loss_sc"] + log["loss_mc"] + log["loss_cls"]).item(), rel_tol=1e-5)


def test_train_dmsd_command_writes_metrics(labelled, tmp_path):
    config = tmp_path / "tiny.py"
    config.write_text(TINY.format(base=str(models_dir() / "dmsd" / "dmsd_1xb16_arena.py")))
    result = CliRunner().invoke(
        main,
        [
            "train",
            "dmsd",
            "--store",
            str(labelled),
            "--work-dir",
            str(tmp_path / "run"),
            "--config",
            str(config),
            "--epochs",
            "1",
            "--seed",
            "1",
        ],
    )
    assert result.exit_code == 0, result.output
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["model"] == "DMSD" and metrics["test_split"] == "test_scenario" and metrics["epochs"] == 1
    for scored in (metrics, metrics["constant_velocity"]):
        per_class = list(scored["per_class_acc"].values())
        assert set(scored["per_class_acc"]) <= set(CLASSES)
        assert scored["mean_class_acc"] == pytest.approx(np.mean(per_class))
        assert scored["class_acc_std"] == pytest.approx(np.std(per_class))
    assert "metrics.json" in result.output and (tmp_path / "run" / "scores.pkl").is_file()


def test_train_dmsd_refuses_an_unlabelled_store(labelled, tmp_path):
    # --data: the option's old name still reads the store
    result = CliRunner().invoke(
        main, ["train", "dmsd", "--data", str(labelled.with_name("arena.h5")), "--work-dir", str(tmp_path / "run")]
    )
    assert result.exit_code == 2 and "no future-position labels; run posekit rodent label" in result.output
