"""Training the motion generator (thesis ch. 4, eq. 4.4) by motion retargeting on a ``posekit synth views`` store,
through mmengine's Runner.

Losses, on z-scored features (:class:`~posekit.nets.motion_generator.MotionGenerator`): L_self reconstructs A and
B from their own codes; L_target decodes A's Motion with B's Static against the render AB (and B's Motion with A's
Static against BA); the authors' triplet terms (margin 1) pull the Motion codes of A and AB together and away from
B's, and the Static codes of A and BA together and away from B's; the velocity term (ViA, weight 0.1 when on)
compares frame-to-frame differences of every output with its target. The metric, on the held-out bodies and views:
``retarget_mse``, the mean squared error of the retargeted outputs against AB and BA in z-scored units (each
channel divided by its training std: the unit of the thesis's Tables 4.6 and 4.13, as their code computes it),
``retarget_mpjpe``, the mean per-joint distance of the root-relative joints in the store's units (metres for
synth renders of a metric store), and ``copy_mse``, the error of answering A itself (retargeting nothing).
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.evaluator import BaseMetric
from mmengine.model import BaseModel

from .. import checkpoints
from ..nets.motion_generator import MotionGenerator
from ..registry import METRICS, MODELS
from ..store import SkeletonStore, atomic_path
from .api import _set_epochs, config_path, set_seed_and_amp
from .retarget_pairs import RetargetPairs

DEFAULT_CONFIG = "motion_generator/motion-generator_1xb64_nw-ucla-views.py"
STATS_WINDOWS = 512  # windows whose frames give the z-score mean and std


@MODELS.register_module()
class RetargetingModel(BaseModel):
    """The mmengine model around :class:`MotionGenerator`: the losses of eq. 4.4 and the retargeting error."""

    def __init__(self, net: dict, target_weight: float = 1.0, triplet_weight: float = 1.0,
                 triplet_margin: float = 1.0, velocity_weight: float = 0.0, data_preprocessor: dict | None = None):
        super().__init__(data_preprocessor=data_preprocessor)
        self.net = MODELS.build(net)
        self.target_weight, self.triplet_weight, self.velocity_weight = target_weight, triplet_weight, velocity_weight
        self.triplet = torch.nn.TripletMarginLoss(margin=triplet_margin)

    def forward(self, a, b, ab, ba, mode: str = "loss"):
        n = len(a)
        features = self.net.to_features(torch.cat([a, b, ab, ba]))  # the inputs A, B and the targets AB, BA
        with_targets = mode == "loss" and bool(self.triplet_weight)  # the triplet terms need the targets' codes
        motion, static = self.net.encode(features if with_targets else features[:2 * n])
        ma, mb, sa, sb = motion[:n], motion[n:2 * n], static[:n], static[n:2 * n]
        outputs = self.net.decode(torch.cat([ma, mb, ma, mb]), torch.cat([sa, sb, sb, sa])).float()
        targets = features.float()  # A, B, AB, BA: what each output should be
        if mode == "predict":
            return self._errors(outputs, targets)
        if mode != "loss":
            return outputs[2 * n:]
        losses = {"loss_self": F.mse_loss(outputs[:2 * n], targets[:2 * n]),
                  "loss_target": self.target_weight * F.mse_loss(outputs[2 * n:], targets[2 * n:])}
        if with_targets:
            mab, mba, sab, sba = motion[2 * n:3 * n], motion[3 * n:], static[2 * n:3 * n], static[3 * n:]
            ma, mb, mab, mba = (m.flatten(1) for m in (ma, mb, mab, mba))
            # anchor, positive (same motion / same static), negative (the other sequence)
            losses["loss_triplet"] = self.triplet_weight * (
                self.triplet(ma, mab, mb) + self.triplet(mb, mba, ma) + self.triplet(sa, sba, sb)
                + self.triplet(sb, sab, sa))
        if self.velocity_weight:
            losses["loss_velocity"] = self.velocity_weight * F.mse_loss(outputs.diff(dim=2), targets.diff(dim=2))
        return losses

    def _errors(self, outputs, targets) -> list[dict]:
        """Per pair, the mean of its two directions (A onto B, B onto A): squared errors in z-scored units and
        joint distances in store units; ``copy_mse`` answers A for AB and B for BA."""
        n = len(outputs) // 4

        def per_pair(x):  # (2N, ...) -> (N,)
            return x.flatten(1).mean(1).view(2, n).mean(0)

        cross, truth = outputs[2 * n:], targets[2 * n:]
        joints = [self.net.to_joints(x) for x in (cross, truth)]
        rooted = [j - j[:, :, self.net.root:self.net.root + 1] for j in joints]
        rows = {"retarget_mse": per_pair((cross - truth) ** 2),
                "self_mse": per_pair((outputs[:2 * n] - targets[:2 * n]) ** 2),
                "copy_mse": per_pair((targets[:2 * n] - truth) ** 2),
                "retarget_mpjpe": per_pair((rooted[0] - rooted[1]).norm(dim=-1))}
        rows = {k: v.detach() for k, v in rows.items()}
        return [{k: float(v[i]) for k, v in rows.items()} for i in range(n)]


@METRICS.register_module()
class RetargetError(BaseMetric):
    """The mean of each per-pair error over the evaluated pairs."""

    default_prefix = ""

    def process(self, data_batch, data_samples):
        self.results.extend(data_samples)

    def compute_metrics(self, results) -> dict:
        return {k: float(np.mean([r[k] for r in results])) for k in results[0]}


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


def prepare_config(cfg: Config, store, work_dir, *, epochs=None, batch_size=None, workers=None, seed=None,
                   amp: bool = False) -> Config:
    """The config with the store, the layout's joints and the z-score statistics of its training windows."""
    cfg.work_dir = str(work_dir)
    for name in ("train_dataloader", "val_dataloader", "test_dataloader"):
        loader = cfg[name]
        loader.dataset.store = str(store)
        if workers is not None:
            loader.num_workers = workers
            loader.persistent_workers = workers > 0
    if batch_size:
        cfg.train_dataloader.batch_size = batch_size
    if epochs is not None:
        _set_epochs(cfg, epochs)
    set_seed_and_amp(cfg, seed, amp)
    layout = SkeletonStore(store).layout
    net = cfg.model.net
    net.num_joints = layout.num_joints
    net.root = layout.index(layout.centre) if layout.centre else 0
    train_part = RetargetPairs(**{k: v for k, v in cfg.train_dataloader.dataset.items() if k != "type"})
    net.mean, net.std = feature_stats(train_part, net.root)
    cfg.trained_on = dict(store=str(store), layout=layout.to_json())
    return cfg


def train(store, work_dir, *, config=None, resume: bool = False, trust_checkpoint: bool = False, **options) -> dict:
    """Train, score the held-out bodies and views with the last epoch and write ``work_dir/metrics.json``.
    ``trust_checkpoint``: resume even from a checkpoint that can run code (:mod:`posekit.checkpoints`)."""
    work_dir = Path(work_dir)
    path = config_path("motion-generator", config or DEFAULT_CONFIG)
    cfg = prepare_config(Config.fromfile(path), store, work_dir, **options)
    cfg.resume = resume
    resumed = checkpoints.latest_checkpoint(work_dir) if resume else None
    runner = checkpoints.build_runner(cfg)
    with checkpoints.mmengine_loads(resumed, trust=trust_checkpoint):  # Runner.resume loads it
        runner.train()
    metrics = runner.test()
    result = {"store": str(store), "config": str(path), "epochs": cfg.train_cfg.max_epochs,
              "use_dictionary": cfg.model.net.get("use_dictionary", True), "seed": cfg.randomness.get("seed"),
              "train_pairs": len(runner.train_dataloader.dataset), "test_pairs": len(runner.test_dataloader.dataset),
              "checkpoint": runner.message_hub.get_info("last_ckpt"),
              "units": {"retarget_mse": "z-scored (per-channel training std)", "retarget_mpjpe": "store units"},
              **metrics}
    with atomic_path(work_dir / "metrics.json") as tmp:
        tmp.write_text(json.dumps(result, indent=1))
    return result
