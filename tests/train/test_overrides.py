"""The one training path: the command line's shared choices applied to a config, the trainers' registry and their
default configs, and the network that takes a layout getting it."""

import pytest
from mmengine.config import Config

from posekit.errors import PosekitError
from posekit.registry import TRAINERS, names
from posekit.train.api import prepare_config
from posekit.train.overrides import apply_overrides, config_path
from posekit.zoo import models_dir


def _loaders() -> Config:
    loader = dict(batch_size=16, num_workers=2, persistent_workers=True, dataset=dict(type="StoreClips", store=None))
    return Config(
        dict(
            train_dataloader=loader,
            val_dataloader=None,
            test_dataloader=dict(loader, batch_size=1),
            randomness=dict(seed=0),
            resume=False,
        )
    )


def test_overrides_reach_every_loader_present_and_none_keeps_the_configs():
    cfg = apply_overrides(
        _loaders(), "runs/a", dataset=dict(store="s.h5"), batch_size=4, workers=0, seed=7, resume=True
    )
    assert cfg.work_dir == "runs/a" and cfg.randomness.seed == 7 and cfg.resume and cfg.val_dataloader is None
    for name, batch in (("train_dataloader", 4), ("test_dataloader", 1)):
        loader = cfg[name]
        assert loader.dataset.store == "s.h5" and loader.batch_size == batch
        assert loader.num_workers == 0 and loader.persistent_workers is False  # no workers: none to keep
    kept = apply_overrides(_loaders(), "runs/b")
    assert kept.train_dataloader.num_workers == 2 and kept.train_dataloader.persistent_workers
    assert kept.train_dataloader.batch_size == 16 and kept.randomness.seed == 0 and not kept.resume


def test_every_trainer_registers_under_its_command_name_with_a_default_config_in_the_zoo(tmp_path):
    trainers = [
        "ctrgcn",
        "dmsd",
        "lstm-selfsup",
        "motion-generator",
        "pretrain",
        "segment",
        "stgcn",
        "student",
        "tmor",
        "unik",
    ]
    assert sorted(names(TRAINERS)) == trainers
    assert all(config_path(name).is_file() for name in trainers)
    assert config_path("dmsd") == models_dir() / "dmsd/dmsd_1xb16_arena.py"
    assert config_path("dmsd", "dmsd/tsm_1xb16_arena.py") == models_dir() / "dmsd/tsm_1xb16_arena.py"
    with pytest.raises(PosekitError, match="no such config file"):
        config_path("dmsd", tmp_path / "missing.py")


@pytest.mark.parametrize("model", ["unik", "stgcn"])
def test_a_network_whose_constructor_takes_a_layout_is_given_the_stores(sample_store, tmp_path, model):
    cfg = prepare_config(Config.fromfile(config_path(model)), sample_store, tmp_path, workers=0)
    net = cfg.model.net
    assert net.num_joints == 17 and net.num_classes == 4
    assert ("layout" in net) == (model == "stgcn")
    if model == "stgcn":
        assert net.layout["name"] == "coco-17"
