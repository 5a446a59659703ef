"""Make the pinned CPU stack importable: torchvision 0.28 is a CUDA build whose compiled ops are missing on
CPU torch 2.13, so ``import torchvision`` (done by mmengine's environment report, among others) fails with
"operator torchvision::nms does not exist" unless the op schemas exist first. Defining them lets the
Python-level models and transforms work; calling a compiled op then raises, naming the op."""
from __future__ import annotations

import os

import torch

_SCHEMAS = {
    "nms": "nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
    "qnms": "qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
}
_library = None


def ensure_torchvision_importable() -> None:
    global _library
    if _library is not None:
        return
    missing = {}
    for name, schema in _SCHEMAS.items():
        try:
            getattr(torch.ops.torchvision, name)
        except (AttributeError, RuntimeError):
            missing[name] = schema
    if not missing:
        _library = False
        return
    _library = torch.library.Library("torchvision", "DEF")  # kept alive: the schemas live as long as it does
    for name, schema in missing.items():
        _library.define(schema)


def allow_full_checkpoint_load() -> None:
    """mmengine checkpoints carry their config, message hub and numpy values beside the weights; torch >= 2.6
    loads weights only by default and refuses them. posekit loads checkpoints it wrote, or that the user names:
    like any pickle, load only checkpoints you trust (docs/training.md says so)."""
    os.environ.setdefault("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")
