"""One training round of the detector through mmengine: the labelled-frames Dataset, the loss model and the Runner.

Labels are :class:`~posekit.rodent.detection.blobs.Blob` lists per frame (an empty list is a negative frame: no animal).
Targets follow CenterNet: a Gaussian at each centre, box size at the centre cell, plus the foreground mask
where the label has one (motion labels do; the detector's own detections do not, so their mask is not learnt).
"""

from __future__ import annotations

import itertools
import tempfile

import numpy as np
import torch
from mmengine.dataset import InfiniteSampler
from mmengine.hooks import Hook
from mmengine.model import BaseModel
from mmengine.runner import Runner
from torch.nn import functional as F
from torch.utils.data import DataLoader, Dataset

from ...compat import ensure_torchvision_importable
from ...nets.rodent_fcn import STRIDE, RodentFCN, focal_loss, standardise
from ...progress import progress_bar
from .blobs import Blob

ensure_torchvision_importable()  # mmengine's runner imports torchvision; the CPU build needs its op schemas


class LabelledFrames(Dataset):
    """Grey work frames with their labels, randomly flipped, transposed and re-lit (the arena seen from above
    has no preferred orientation; lighting varies between and within videos)."""

    metainfo = {"classes": ("animal",)}  # what mmengine's loops hand to the visualizer

    def __init__(self, frames: list[np.ndarray], labels: list[list[Blob]], seed: int = 0):
        self.frames, self.labels = frames, labels
        self.rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        return len(self.frames)

    def __getitem__(self, i: int) -> dict:
        image = self.frames[i].astype(np.float32)
        size = image.shape[0]
        centres = np.array([b.centre for b in self.labels[i]], np.float32).reshape(-1, 2)
        boxes = np.array([b.box for b in self.labels[i]], np.float32).reshape(-1, 4)
        has_mask = all(b.mask is not None for b in self.labels[i])
        mask = np.zeros_like(image, dtype=bool)
        for b in self.labels[i]:
            if b.mask is not None:
                mask |= b.mask
        if self.rng.random() < 0.5:  # horizontal flip; pixel centres are at integers, so x -> S - 1 - x
            image, mask = image[:, ::-1], mask[:, ::-1]
            centres[:, 0] = size - 1 - centres[:, 0]
            boxes[:, [0, 2]] = size - 1 - boxes[:, [2, 0]]
        if self.rng.random() < 0.5:  # vertical flip
            image, mask = image[::-1], mask[::-1]
            centres[:, 1] = size - 1 - centres[:, 1]
            boxes[:, [1, 3]] = size - 1 - boxes[:, [3, 1]]
        if self.rng.random() < 0.5:  # transpose: with the flips, all eight 90-degree rotations and mirrors
            image, mask = image.T, mask.T
            centres, boxes = centres[:, ::-1], boxes[:, [1, 0, 3, 2]]
        image = image * self.rng.uniform(0.6, 1.4) + self.rng.uniform(-30, 30) + self.rng.normal(0, 3, image.shape)
        return {
            "inputs": standardise(torch.from_numpy(np.ascontiguousarray(image))[None]),
            **targets(centres, boxes, mask, has_mask, size),
        }


def targets(centres: np.ndarray, boxes: np.ndarray, mask: np.ndarray, has_mask: bool, size: int) -> dict:
    """CenterNet targets at the output resolution: heat (Gaussian, 1 at each centre cell), log box size at the
    centre cells, foreground fraction of each cell, and which of them count."""
    out = size // STRIDE
    ys, xs = np.mgrid[0:out, 0:out].astype(np.float32)
    heat = np.zeros((out, out), np.float32)
    box_size = np.zeros((2, out, out), np.float32)
    size_weight = np.zeros((out, out), np.float32)
    for (x, y), (x1, y1, x2, y2) in zip(centres, boxes):
        cx, cy = (x + 0.5) / STRIDE - 0.5, (y + 0.5) / STRIDE - 0.5  # output-cell coordinates
        ix, iy = int(np.clip(round(cx), 0, out - 1)), int(np.clip(round(cy), 0, out - 1))
        w, h = max(x2 - x1, 1.0) / STRIDE, max(y2 - y1, 1.0) / STRIDE
        sigma = max(0.7, min(w, h) / 3)
        gauss = np.exp(-((xs - ix) ** 2 + (ys - iy) ** 2) / (2 * sigma**2))
        heat = np.maximum(heat, gauss)
        box_size[:, iy, ix] = np.log([w, h])
        size_weight[iy, ix] = 1.0
    fg = mask.reshape(out, STRIDE, out, STRIDE).mean(axis=(1, 3)).astype(np.float32)
    return {
        "heat": torch.from_numpy(heat),
        "size": torch.from_numpy(box_size),
        "size_weight": torch.from_numpy(size_weight),
        "fg": torch.from_numpy(fg),
        "fg_weight": torch.tensor(float(has_mask)),
    }


class DetectorModel(BaseModel):
    """The FCN with its training loss, as mmengine's Runner drives it."""

    def __init__(self, net: RodentFCN):
        super().__init__()
        self.net = net

    def forward(self, inputs, heat=None, size=None, size_weight=None, fg=None, fg_weight=None, mode="tensor"):
        output = self.net(inputs)
        if mode != "loss":
            return output
        output = output.float()
        fg_loss = F.binary_cross_entropy_with_logits(output[:, 3], fg, reduction="none").mean(dim=(1, 2))
        size_loss = (F.l1_loss(output[:, 1:3], size, reduction="none").sum(1) * size_weight).sum()
        return {
            "loss_heat": focal_loss(output[:, 0], heat),
            "loss_size": 0.1 * size_loss / size_weight.sum().clamp_min(1.0),
            "loss_fg": (fg_loss * fg_weight).sum() / fg_weight.sum().clamp_min(1.0),
        }


class _Progress(Hook):
    """A tqdm bar over the training iterations (mmengine's own logger is kept quiet)."""

    def __init__(self, total: int, desc: str):
        self.bar = progress_bar(total=total, desc=desc, unit="iter", leave=False)

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        self.bar.update(1)

    def after_run(self, runner):
        self.bar.close()


class _DeviceRunner(Runner):
    """mmengine puts the model on the first accelerator it finds; here ``--device`` decides."""

    def __init__(self, *args, target_device: str = "cpu", **kwargs):
        self.target_device = target_device  # before Runner.__init__, which wraps the model
        super().__init__(*args, **kwargs)

    def wrap_model(self, model_wrapper_cfg, model):
        return model.to(self.target_device)


def train_round(
    net: RodentFCN,
    frames: list[np.ndarray],
    labels: list[list[Blob]],
    *,
    iters: int,
    device: str = "cpu",
    batch_size: int = 16,
    lr: float = 2e-3,
    seed: int = 0,
    name: str = "round",
) -> RodentFCN:
    """Train ``net`` (in place, from its current weights) for ``iters`` iterations on the labelled frames.

    On CUDA the optimiser step runs under automatic mixed precision (mmengine's AmpOptimWrapper)."""
    dataset = LabelledFrames(frames, labels, seed)
    # An endless sampler: mmengine pauses 2 s whenever an iteration-based loop restarts a finite loader.
    loader = DataLoader(
        dataset,
        batch_size=min(batch_size, len(frames)),
        drop_last=True,
        num_workers=0,
        sampler=InfiniteSampler(dataset, shuffle=True, seed=seed),
    )
    optim = dict(
        type="AmpOptimWrapper" if device.startswith("cuda") else "OptimWrapper",
        optimizer=dict(type="AdamW", lr=lr, weight_decay=1e-4),
    )
    with tempfile.TemporaryDirectory(prefix="posekit-rodent-") as work_dir:  # logs only; the caller saves
        runner = _DeviceRunner(
            target_device=device,
            model=DetectorModel(net),
            work_dir=work_dir,
            train_dataloader=loader,
            optim_wrapper=optim,
            train_cfg=dict(by_epoch=False, max_iters=iters),
            # Each round ends at a low learning rate, so a round's detector is not the noise of its last steps.
            param_scheduler=dict(type="CosineAnnealingLR", T_max=iters, eta_min=lr / 50, by_epoch=False),
            default_hooks=dict(checkpoint=None, logger=dict(type="LoggerHook", interval=max(iters // 4, 1))),
            custom_hooks=[_Progress(iters, f"training {name}")],
            randomness=dict(seed=seed),
            log_level="WARNING",
            experiment_name=f"{name}-{next(_RUNS)}",
            default_scope="mmengine",
            env_cfg=dict(cudnn_benchmark=False),
        )
        runner.train()
    return net.eval()


_RUNS = itertools.count()  # mmengine keeps loggers by experiment name: every run in a process needs its own
