"""Training DMSD (and its single-stream baseline) on a labelled RatPose-style store through mmengine's Runner.

A sample is a window of ``clip_frames`` frames taken every ``stride``-th frame and ending at a labelled frame; its
class is where the animal is ``horizon`` later (``posekit rodent label``). Frames come from the HDF5 frames file
each clip's ``/clips/source`` names (``/videos/<clip id>``, (T, H, W) uint8), as ``posekit.rodent.arena`` writes.
The test split is scored once at the end; the constant-velocity baseline is scored on the same windows.
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path

import h5py
import numpy as np
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.model import BaseModel
from torch.utils.data import Dataset

from .. import checkpoints
from ..nets.dmsd import DMSD
from ..nets.dmsd_losses import MotionClusteringLoss, scenario_contrast_loss
from ..registry import DATASETS, MODELS
from ..store import SkeletonStore, StoreError, atomic_path
from ..train.api import config_path, set_seed_and_amp
from .ratpose import CLASSES, body_centre, clip_meta, constant_velocity_classes, frame_classes, get_convention


@DATASETS.register_module()
class PositionWindows(Dataset):
    """Windows of a labelled RatPose-style store's split: ``frames`` (T, 1, H, W) float in 0..1, ``label``,
    ``group`` (index of the clip's scenario and session, the contrast loss's positives) and ``id``
    (``clip@frame``). ``sample_step``: take every that-many-th labelled end frame of each clip."""

    def __init__(self, store: str, split: str, clip_frames: int = 8, stride: int = 3, sample_step: int = 5):
        self.store_path = Path(store)
        self.clip_frames, self.stride = clip_frames, stride
        history = (clip_frames - 1) * stride
        clips, ends, labels, groups = [], [], [], []
        with SkeletonStore(store) as store_:
            texts = store_.column("text")
            metas = [clip_meta(text, f"{store}: clip {cid!r}") for text, cid in zip(texts, store_.ids)]
            scenes = sorted({(m["scenario"], m["session"]) for m in metas})
            sources = store_.column("source")
            self.positions = {}
            for i in store_.split(split):
                classes = frame_classes(store_, i)
                end = np.arange(history, len(classes))
                end = end[classes[end] >= 0][::sample_step]
                clips += [i] * len(end)
                ends.append(end)
                labels.append(classes[end])
                groups += [scenes.index((metas[i]["scenario"], metas[i]["session"]))] * len(end)
                self.positions[int(i)] = body_centre(store_.frames(i, ("keypoints",))["keypoints"], store_.layout)
            self.ids = store_.ids
            self.fps = store_.column("fps")
            self.image_size = store_.column("image_size")
        self.clips = np.array(clips, np.int64)
        self.ends = np.concatenate(ends) if ends else np.zeros(0, np.int64)
        self.labels = np.concatenate(labels) if labels else np.zeros(0, np.int64)
        self.groups = np.array(groups, np.int64)
        self.sources = {int(i): self.store_path.parent / sources[i] for i in np.unique(self.clips)}
        for path in set(self.sources.values()):
            if not path.is_file():
                raise StoreError(f"{store}: frames file {path} (named by /clips/source) does not exist")
        self.metainfo = {"classes": CLASSES}
        self._files, self._pid = {}, None

    def __len__(self) -> int:
        return len(self.clips)

    def _video(self, clip: int):
        if self._pid != os.getpid():  # one handle per process: DataLoader workers open their own
            self._files, self._pid = {}, os.getpid()
        path = self.sources[clip]
        if path not in self._files:
            self._files[path] = h5py.File(path, "r")
        try:
            return self._files[path]["videos"][self.ids[clip]]
        except KeyError:
            raise StoreError(f"{path}: no video /videos/{self.ids[clip]}") from None

    def sample_id(self, index: int) -> str:
        return f"{self.ids[self.clips[index]]}@{self.ends[index]}"

    def __getitem__(self, index: int) -> dict:
        clip, end = int(self.clips[index]), int(self.ends[index])
        start = end - (self.clip_frames - 1) * self.stride
        frames = self._video(clip)[start:end + 1:self.stride]
        return {"frames": torch.from_numpy(frames).float().div_(255).unsqueeze(1), "label": int(self.labels[index]),
                "group": int(self.groups[index]), "id": self.sample_id(index)}

    def constant_velocity(self, horizon: float, radius: float, convention: str) -> np.ndarray:
        """The constant-velocity prediction of every window, from the body centre over its frames."""
        rule = get_convention(convention)
        history = (self.clip_frames - 1) * self.stride
        predicted = np.empty(len(self), np.int64)
        for clip in np.unique(self.clips):
            rows = self.clips == clip
            predicted[rows] = constant_velocity_classes(
                self.positions[int(clip)], self.ends[rows], history, int(round(horizon * self.fps[clip])),
                radius * max(self.image_size[clip]), rule)
        return predicted


@MODELS.register_module()
class PositionPredictor(BaseModel):
    """The mmengine model around DMSD or the single-stream baseline.

    With DMSD each iteration alternates two updates (seed 000, sec. 4.2): first the feature decoupling loss
    L_f = lambda_s * L_sc(s) + lambda_m * L_mc(m), which reaches the two streams, the removal modules and the
    clustering centres; then, after a new forward pass, the cross-entropy L_cls, which reaches the streams, the
    removal modules and the classifier. The baseline has only L_cls."""

    def __init__(self, net: dict, lambda_s: float = 0.1, lambda_m: float = 1.0, temperature: float = 0.1,
                 centres_per_class: int = 1, data_preprocessor: dict | None = None):
        super().__init__(data_preprocessor=data_preprocessor)
        self.net = MODELS.build(net)
        self.decoupled = isinstance(self.net, DMSD)
        self.lambda_s, self.lambda_m, self.temperature = lambda_s, lambda_m, temperature
        if self.decoupled:
            self.clustering = MotionClusteringLoss(self.net.head[-1].out_features, self.net.feature_dim,
                                                   centres_per_class)

    def forward(self, frames, label, group=None, id=None, mode: str = "loss"):
        logits = self.net(frames)["logits"]
        if mode == "loss":
            return {"loss_cls": F.cross_entropy(logits, label)}
        if mode == "predict":
            scores = logits.float().softmax(dim=1)
            return [{"id": sample_id, "index": i, "label": int(y), "scores": s}
                    for i, (sample_id, y, s) in enumerate(zip(id, label, scores))]
        return logits

    def feature_losses(self, frames, label, group) -> dict:
        out = self.net(frames)
        return {"loss_sc": self.lambda_s * scenario_contrast_loss(out["scenario"], group, self.temperature),
                "loss_mc": self.lambda_m * self.clustering(out["motion"], label)}

    def train_step(self, data, optim_wrapper) -> dict:
        if not self.decoupled:
            return super().train_step(data, optim_wrapper)
        data = self.data_preprocessor(data, True)
        with optim_wrapper.optim_context(self):
            losses = self.feature_losses(data["frames"], data["label"], data["group"])
        loss_f, log_vars = self.parse_losses(losses)
        optim_wrapper.update_params(loss_f)
        with optim_wrapper.optim_context(self):
            losses = self(**data, mode="loss")
        loss_cls, _ = self.parse_losses(losses)
        optim_wrapper.update_params(loss_cls)
        log_vars.update(loss_cls=loss_cls.detach(), loss=loss_f.detach() + loss_cls.detach())
        return log_vars


def position_metrics(predicted: np.ndarray, labels: np.ndarray) -> dict:
    """The paper's metrics (%): top-1, mean class accuracy and the std of the per-class accuracies (classes
    present in ``labels``), and each class's accuracy."""
    per_class = {CLASSES[c]: float((predicted[labels == c] == c).mean() * 100) for c in np.unique(labels)}
    values = np.array(list(per_class.values()))
    return {"top1": float((predicted == labels).mean() * 100), "mean_class_acc": float(values.mean()),
            "class_acc_std": float(values.std()), "per_class_acc": per_class}


def prepare_config(cfg: Config, store, work_dir, *, train_split: str, test_split: str, epochs=None,
                   batch_size=None, workers=None, seed=None, amp: bool = False) -> Config:
    """The config with the store, splits and command-line choices; no hold-out (the last epoch is kept)."""
    cfg.work_dir = str(work_dir)
    for name, split in (("train_dataloader", train_split), ("test_dataloader", test_split)):
        loader = cfg[name]
        loader.dataset.update(store=str(store), split=split)
        if workers is not None:
            loader.num_workers = workers
            loader.persistent_workers = workers > 0
    cfg.model.net.segments = cfg.train_dataloader.dataset.clip_frames
    cfg.val_dataloader = cfg.val_cfg = cfg.val_evaluator = None
    cfg.default_hooks.checkpoint.save_best = None
    if epochs is not None:
        cfg.train_cfg.max_epochs = epochs
        for scheduler in cfg.param_scheduler:
            if scheduler.get("T_max") is not None:
                scheduler.T_max = epochs
                scheduler.end = epochs
    if batch_size:
        cfg.train_dataloader.batch_size = batch_size
    set_seed_and_amp(cfg, seed, amp)
    cfg.test_evaluator = dict(type="ClipAccuracy", out_dir=str(work_dir), class_names=list(CLASSES), topk=(1,))
    return cfg


def train(store, work_dir, *, config=None, train_split: str = "train_scenario", test_split: str = "test_scenario",
          resume: bool = False, trust_checkpoint: bool = False, **options) -> dict:
    """Train, score the test split with the last epoch and the constant-velocity baseline on the same windows,
    and write ``work_dir/metrics.json``. ``trust_checkpoint``: resume even from a checkpoint that can run code."""
    work_dir = Path(work_dir)
    with SkeletonStore(store) as labelled:
        labelling = next((s for s in reversed(labelled.provenance) if s.get("step") == "ratpose-label"), None)
        for split in (train_split, test_split):
            labelled.split(split)  # a clear error when the store lacks the split
    if labelling is None:
        raise StoreError(f"{store}: no future-position labels; run posekit rodent label first")
    cfg = prepare_config(Config.fromfile(config_path("dmsd", config)), store, work_dir, train_split=train_split,
                         test_split=test_split, **options)
    cfg.resume = resume
    resumed = checkpoints.latest_checkpoint(work_dir) if resume else None
    runner = checkpoints.build_runner(cfg)
    started = time.perf_counter()
    with checkpoints.mmengine_loads(resumed, trust=trust_checkpoint):  # Runner.resume loads it
        runner.train()
    train_seconds = time.perf_counter() - started
    runner.test()
    scored = runner.test_evaluator.metrics[0].last
    labels = scored["labels"]
    dataset = runner.test_dataloader.dataset
    order = {sample_id: row for row, sample_id in enumerate(scored["ids"])}  # the baseline in the scored order
    rows = [order[dataset.sample_id(i)] for i in range(len(dataset))]
    baseline = np.empty(len(dataset), np.int64)
    baseline[rows] = dataset.constant_velocity(labelling["horizon_s"], labelling["radius_fraction"],
                                               labelling["convention"])
    result = {"store": str(store), "config": str(config_path("dmsd", config)), "model": cfg.model.net.type,
              "train_split": train_split, "test_split": test_split, "epochs": cfg.train_cfg.max_epochs,
              "train_windows": len(runner.train_dataloader.dataset), "test_windows": len(dataset),
              "train_seconds": round(train_seconds, 1), "checkpoint": runner.message_hub.get_info("last_ckpt"),
              **position_metrics(scored["scores"].argmax(1), labels),
              "constant_velocity": position_metrics(baseline, labels),
              "labelling": {k: labelling[k] for k in ("horizon_s", "radius_fraction", "convention")}}
    with atomic_path(work_dir / "metrics.json") as tmp:
        tmp.write_text(json.dumps(result, indent=1))
    return result
