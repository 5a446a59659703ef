"""Training DMSD (and its single-stream baseline) on a labelled RatPose-style store: windows of video frames
(:class:`~posekit.train.position_windows.PositionWindows`) and the model with its alternating updates
(:class:`~posekit.train.position_predictor.PositionPredictor`). What is the trainer's own: the splits, no hold-out
(the last epoch is kept), and the result: the test split is scored once at the end, and the constant-velocity
baseline on the same windows.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from mmengine.config import Config

from ..registry import TRAINERS
from ..rodent.ratpose.labels import CLASSES
from ..store import SkeletonStore, StoreError
from .overrides import Trainer, apply_overrides, config_path, run, write_metrics


def position_metrics(predicted: np.ndarray, labels: np.ndarray) -> dict:
    """The paper's metrics (%): top-1, mean class accuracy and the std of the per-class accuracies (classes
    present in ``labels``), and each class's accuracy."""
    per_class = {CLASSES[c]: float((predicted[labels == c] == c).mean() * 100) for c in np.unique(labels)}
    values = np.array(list(per_class.values()))
    return {
        "top1": float((predicted == labels).mean() * 100),
        "mean_class_acc": float(values.mean()),
        "class_acc_std": float(values.std()),
        "per_class_acc": per_class,
    }


def prepare_config(cfg: Config, store, work_dir, *, train_split: str, test_split: str, **overrides) -> Config:
    """The config with the store and its splits, no hold-out (the last epoch is kept); ``overrides``: those of
    :func:`~posekit.train.overrides.apply_overrides` (epochs, batch_size, workers...)."""
    cfg.train_dataloader.dataset.split = train_split
    cfg.test_dataloader.dataset.split = test_split
    cfg.val_dataloader = cfg.val_cfg = cfg.val_evaluator = None
    cfg.default_hooks.checkpoint.save_best = None
    apply_overrides(cfg, work_dir, dataset=dict(store=str(store)), **overrides)
    cfg.model.net.segments = cfg.train_dataloader.dataset.clip_frames
    cfg.test_evaluator = dict(type="ClipAccuracy", out_dir=str(work_dir), class_names=list(CLASSES), topk=(1,))
    return cfg


def future_position_labelling(store, splits) -> dict:
    """How ``posekit rodent label`` labelled the store (horizon, radius, convention); stops at a store without
    labels or without one of ``splits``."""
    with SkeletonStore(store) as labelled:
        labelling = next((s for s in reversed(labelled.provenance) if s.get("step") == "ratpose-label"), None)
        for split in splits:
            labelled.split(split)  # a clear error when the store lacks the split
    if labelling is None:
        raise StoreError(f"{store}: no future-position labels; run posekit rodent label first")
    return labelling


def train(
    store,
    work_dir,
    *,
    config=None,
    train_split: str = "train_scenario",
    test_split: str = "test_scenario",
    trust_checkpoint: bool = False,
    **options,
) -> dict:
    """Train, score the test split with the last epoch and the constant-velocity baseline on the same windows,
    and write ``work_dir/metrics.json``. ``trust_checkpoint``: resume even from a checkpoint that can run code."""
    work_dir = Path(work_dir)
    labelling = future_position_labelling(store, (train_split, test_split))
    path = config_path("dmsd", config)
    cfg = prepare_config(
        Config.fromfile(path), store, work_dir, train_split=train_split, test_split=test_split, **options
    )
    started = time.perf_counter()
    runner = run(cfg, trust_checkpoint=trust_checkpoint)
    train_seconds = time.perf_counter() - started
    runner.test()
    scored = runner.test_evaluator.metrics[0].last
    labels = scored["labels"]
    dataset = runner.test_dataloader.dataset
    result = {
        "store": str(store),
        "config": str(path),
        "model": cfg.model.net.type,
        "train_split": train_split,
        "test_split": test_split,
        "epochs": cfg.train_cfg.max_epochs,
        "train_windows": len(runner.train_dataloader.dataset),
        "test_windows": len(dataset),
        "train_seconds": round(train_seconds, 1),
        "checkpoint": runner.message_hub.get_info("last_ckpt"),
        **position_metrics(scored["scores"].argmax(1), labels),
        "constant_velocity": position_metrics(_constant_velocity(dataset, scored["ids"], labelling), labels),
        "labelling": {k: labelling[k] for k in ("horizon_s", "radius_fraction", "convention")},
    }
    write_metrics(work_dir, result)
    return result


def _constant_velocity(dataset, scored_ids: list[str], labelling: dict) -> np.ndarray:
    """The constant-velocity baseline's class of every scored window, in the order they were scored."""
    order = {sample_id: row for row, sample_id in enumerate(scored_ids)}
    rows = [order[dataset.sample_id(i)] for i in range(len(dataset))]
    baseline = np.empty(len(dataset), np.int64)
    baseline[rows] = dataset.constant_velocity(
        labelling["horizon_s"], labelling["radius_fraction"], labelling["convention"]
    )
    return baseline


TRAINERS.register_module(name="dmsd", module=Trainer(train, "dmsd/dmsd_1xb16_arena.py"))
