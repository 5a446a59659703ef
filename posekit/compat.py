"""Make the pinned CPU stack importable: torchvision 0.28 is a CUDA build whose compiled ops are missing on
CPU torch 2.13, so ``import torchvision`` (done by mmengine's environment report, among others) fails with
"operator torchvision::nms does not exist" unless the op schemas exist first. Defining them lets the
Python-level models and transforms work; calling a compiled op then raises, naming the op."""

from __future__ import annotations

import importlib.machinery
import sys
import types

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


def ensure_mmpose_importable() -> None:
    """``mmpose.models`` imports ``mmcv.ops``, which loads the compiled ``mmcv._ext``; mmcv-lite (the installable
    mmcv, docs/install.md) has none. A stand-in module whose every op raises, naming the op, lets the
    RTMPose-family top-down models (which need no compiled op) build, train and run on the CPU."""
    ensure_torchvision_importable()
    if "mmcv._ext" in sys.modules:
        return
    try:
        importlib.import_module("mmcv._ext")
        return
    except ImportError:
        pass
    stub = types.ModuleType("mmcv._ext")
    stub.__spec__ = importlib.machinery.ModuleSpec("mmcv._ext", loader=None)  # find_spec() callers need one
    stub.__getattr__ = _missing_mmcv_op
    sys.modules["mmcv._ext"] = stub


def _missing_mmcv_op(name: str):
    if name.startswith("__"):
        raise AttributeError(name)

    def op(*args, **kwargs):
        raise NotImplementedError(
            f"mmcv op {name!r} is compiled code that mmcv-lite lacks; this model needs the full mmcv (docs/install.md)"
        )

    return op
