"""Training the motion generator (thesis ch. 4, eq. 4.4) by motion retargeting on a ``posekit synth views`` store:
the model and its losses are :class:`~posekit.train.retargeting.RetargetingModel`'s, the pairs
:class:`~posekit.train.retarget_pairs.RetargetPairs`; what is the trainer's own is the network's joints and the
z-score statistics of its input, taken from the training windows, and the result. The held-out bodies and views are
scored with the last epoch (:class:`~posekit.train.metric.RetargetError`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from mmengine.config import Config

from ..nets.motion_generator import MotionGenerator
from ..registry import TRAINERS
from ..store import SkeletonStore
from .overrides import Trainer, apply_overrides, config_path, run, write_metrics
from .retarget_pairs import RetargetPairs

STATS_WINDOWS = 512  # windows whose frames give the z-score mean and std


def feature_stats(dataset: RetargetPairs, root: int) -> tuple[list[float], list[float]]:
    """Per-channel mean and std of the generator's input over up to STATS_WINDOWS training windows (every render
    of a window's motion on one static each); a channel that never varies keeps std 1."""
    net = MotionGenerator(dataset.store.layout.num_joints, root=root)
    picks = np.linspace(0, len(dataset.windows) - 1, min(STATS_WINDOWS, len(dataset.windows))).round().astype(int)
    windows = torch.stack([dataset.read(int(w), int(w) % len(dataset.statics)) for w in picks])
    features = net.to_features(windows).transpose(1, 2).flatten(0, 1).double()
    mean, std = features.mean(0), features.std(0)
    std[std < 1e-6] = 1.0
    return mean.tolist(), std.tolist()


def prepare_config(cfg: Config, store, work_dir, **overrides) -> Config:
    """The config with the store, the layout's joints and the z-score statistics of its training windows;
    ``overrides``: those of :func:`~posekit.train.overrides.apply_overrides` (epochs, batch_size, workers...)."""
    apply_overrides(cfg, work_dir, dataset=dict(store=str(store)), **overrides)
    with SkeletonStore(store) as renders:
        layout = renders.layout
    net = cfg.model.net
    net.num_joints = layout.num_joints
    net.root = layout.index(layout.centre) if layout.centre else 0
    train_part = RetargetPairs(**{k: v for k, v in cfg.train_dataloader.dataset.items() if k != "type"})
    net.mean, net.std = feature_stats(train_part, net.root)
    cfg.trained_on = dict(store=str(store), layout=layout.to_json())
    return cfg


def train(store, work_dir, *, config=None, trust_checkpoint: bool = False, **options) -> dict:
    """Train, score the held-out bodies and views with the last epoch and write ``work_dir/metrics.json``.
    ``trust_checkpoint``: resume even from a checkpoint that can run code (:mod:`posekit.checkpoints`)."""
    work_dir = Path(work_dir)
    path = config_path("motion-generator", config)
    cfg = prepare_config(Config.fromfile(path), store, work_dir, **options)
    runner = run(cfg, trust_checkpoint=trust_checkpoint)
    metrics = runner.test()
    result = {
        "store": str(store),
        "config": str(path),
        "epochs": cfg.train_cfg.max_epochs,
        "use_dictionary": cfg.model.net.get("use_dictionary", True),
        "seed": cfg.randomness.get("seed"),
        "train_pairs": len(runner.train_dataloader.dataset),
        "test_pairs": len(runner.test_dataloader.dataset),
        "checkpoint": runner.message_hub.get_info("last_ckpt"),
        "units": {"retarget_mse": "z-scored (per-channel training std)", "retarget_mpjpe": "store units"},
        **metrics,
    }
    write_metrics(work_dir, result)
    return result


TRAINERS.register_module(
    name="motion-generator", module=Trainer(train, "motion_generator/motion-generator_1xb64_nw-ucla-views.py")
)
