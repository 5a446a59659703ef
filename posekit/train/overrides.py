"""One training path: every trainer goes from the command line to mmengine's Runner through this module.

A trainer is a function ``train(store, work_dir, *, config=None, trust_checkpoint=False, **options)`` that

1. reads its config: :func:`config_path` gives the ``--config`` asked for, else the default its
   :data:`~posekit.registry.TRAINERS` entry names;
2. fills in what only it knows, in small functions of its module (the store's joints and classes, the splits,
   the z-score statistics...);
3. applies the choices every trainer shares (work dir, store, epochs, batch size, workers, seed, AMP, resume)
   with :func:`apply_overrides`;
4. trains with :func:`run`, then tests and writes its results (``metrics.json``...).

Adding a trainer is:

- a config in ``models/<name>/`` (with its card, ``metafile.yml``) that names its model and dataset by ``type=``;
- the network in ``posekit/nets/``; its mmengine model (a ``BaseModel``: the losses) and, unless an existing one
  fits, its dataset, each a module of ``posekit/train/`` registered in ``posekit.registry.MODELS`` / ``DATASETS``
  and imported by ``posekit/train/__init__.py``;
- a module of ``posekit/train/`` whose ``train`` does steps 1-4, registered as
  ``TRAINERS.register_module(name="<name>", module=Trainer(train, "<name>/<config>.py"))`` and named in TRAINERS'
  ``locations``;
- a command of a few lines in :mod:`posekit.cli.train`: ``@train.command(name="<name>")``,
  ``@trainer_options(...)`` and its own options, a body of ``result = run_trainer("<name>", **options)`` and
  ``report(summary, *paths)`` (:mod:`posekit.cli.options`).
"""

from __future__ import annotations

import atexit
import gc
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch
from mmengine.config import Config
from mmengine.dist import is_main_process

from .. import checkpoints
from ..errors import PosekitError
from ..registry import TRAINERS, names
from ..store import atomic_path
from ..zoo import models_dir
from .cpu_amp import cpu_supports_bfloat16

LOADERS = ("train_dataloader", "val_dataloader", "test_dataloader")


@dataclass(frozen=True)
class Trainer:
    """What TRAINERS holds under a command name: the function that trains (called through the entry) and the config
    it trains without ``--config``, relative to the zoo (:func:`posekit.zoo.models_dir`)."""

    train: Callable[..., dict]
    default_config: str

    def __call__(self, store, work_dir, **options) -> dict:
        return self.train(store, work_dir, **options)


def config_path(trainer: str, config: str | Path | None = None) -> Path:
    """``config`` (a path, or one relative to the zoo), else the default config of the trainer named ``trainer``."""
    zoo = models_dir()
    if config is None:
        entry = TRAINERS.get(trainer)
        if entry is None:
            raise PosekitError(f"unknown trainer {trainer!r}; trainers: {', '.join(names(TRAINERS))}")
        return zoo / entry.default_config
    path = Path(config)
    if not path.is_file():
        path = zoo / config
    if not path.is_file():
        raise PosekitError(f"{config}: no such config file (looked here and in {zoo})")
    return path


def apply_overrides(
    cfg: Config,
    work_dir,
    *,
    dataset: dict | None = None,
    epochs: int | None = None,
    batch_size: int | None = None,
    workers: int | None = None,
    seed: int | None = None,
    amp: bool = False,
    resume: bool = False,
    launcher: str = "none",
) -> Config:
    """The choices every trainer shares, applied to ``cfg``: the work dir; ``dataset``'s keys (the store...) on the
    dataset of every data loader; the number of epochs (:func:`set_epochs`); the training batch size; the data
    loader workers; the seed; mixed precision (:func:`amp_optim_wrapper`); resuming; the launcher ('pytorch' under
    torchrun: :func:`run` sets up DDP). None keeps the config's; the launcher is always the command's, as a
    checkpoint's config carries the launcher it was trained with."""
    cfg.work_dir = str(work_dir)
    for name in LOADERS:
        loader = cfg.get(name)
        if loader is None:
            continue
        loader.dataset.update(dataset or {})
        if workers is not None:
            loader.num_workers = workers
            loader.persistent_workers = workers > 0  # torch refuses persistent workers without workers
    if batch_size:
        cfg.train_dataloader.batch_size = batch_size
    if epochs is not None:
        set_epochs(cfg, epochs)
    if seed is not None:
        cfg.randomness = {**cfg.get("randomness", {}), "seed": seed}
    if amp:
        cfg.optim_wrapper.type = amp_optim_wrapper()
    cfg.resume = resume
    cfg.launcher = launcher
    return cfg


def set_epochs(cfg: Config, epochs: int) -> None:
    """Shorten or stretch the schedule to ``epochs``. Milestones scale with it; a warm-up (an epoch-based scheduler
    that ends early) shrinks with a shorter schedule but keeps its length in a longer one (it only has to get past
    the first noisy steps); an annealing (``T_max``) spans the whole run; iteration-based schedulers count
    iterations, not epochs, and stay. A validation interval past the schedule (no validation) stays past it."""
    ratio = epochs / cfg.train_cfg.max_epochs
    interval = cfg.train_cfg.get("val_interval")
    if interval is not None:
        never = interval > cfg.train_cfg.max_epochs
        cfg.train_cfg.val_interval = epochs + 1 if never else max(1, min(interval, epochs))
    cfg.train_cfg.max_epochs = epochs
    for scheduler in cfg.param_scheduler:
        if not scheduler.get("by_epoch", True):
            continue
        if "T_max" in scheduler:
            scheduler.T_max = epochs
            if "end" in scheduler:
                scheduler.end = epochs
            continue
        if "milestones" in scheduler:
            scheduler.milestones = sorted({max(1, round(m * ratio)) for m in scheduler.milestones})
        if "end" in scheduler:
            scheduler.end = max(1, min(scheduler.end, round(scheduler.end * ratio)))


def amp_optim_wrapper() -> str:
    """``--amp``: float16 with loss scaling on a CUDA GPU, else bfloat16 on a CPU with bfloat16 kernels."""
    if torch.cuda.is_available():
        return "AmpOptimWrapper"
    if not cpu_supports_bfloat16():
        raise PosekitError(
            "--amp needs a CUDA GPU or a CPU with bfloat16 kernels (AVX512-BF16 or AMX); "
            "this machine has neither: train without --amp"
        )
    return "CPUBFloat16OptimWrapper"


def run(cfg: Config, *, trust_checkpoint: bool = False, before_training: Callable | None = None):
    """Build the Runner (:func:`posekit.checkpoints.build_runner`), train it and return it.

    The checkpoint it loads -- the latest in the work dir when ``cfg.resume``, else ``cfg.load_from`` -- is checked
    first (:func:`posekit.checkpoints.mmengine_loads`); ``trust_checkpoint`` loads it even if that can run code.
    ``before_training(runner)``: what the trainer does to the built model first (load weights, move it).
    Under ``launcher='pytorch'`` each rank trains its share of every batch (:func:`set_up_ddp`)."""
    if cfg.get("launcher") == "pytorch":
        set_up_ddp(cfg)
    resuming = bool(cfg.get("resume"))
    loaded = checkpoints.latest_checkpoint(cfg.work_dir) if resuming else cfg.get("load_from")
    runner = checkpoints.build_runner(cfg)
    if before_training is not None:
        before_training(runner)
    # Runner.resume reads the checkpoint's config; load_from's weights only
    with checkpoints.mmengine_loads(loaded, trust=trust_checkpoint, config_ignored=not resuming):
        runner.train()
    return runner


def set_up_ddp(cfg: Config) -> None:
    """DDP for a run under torchrun, on GPUs or CPUs. With CUDA, mmengine's own set-up stands: the Runner starts the
    process group with the config's backend (nccl) and puts each rank on the GPU of its LOCAL_RANK. Without CUDA,
    mmengine would call torch.cuda.set_device and give DistributedDataParallel that GPU's id: the process group is
    started here with gloo (the Runner starts none when one exists) and the model wrapped with no device ids."""
    if "RANK" not in os.environ or "WORLD_SIZE" not in os.environ:
        raise PosekitError(
            "--launcher pytorch runs under torchrun, which starts one process per rank: "
            "torchrun --nproc-per-node N -m posekit.cli train ..."
        )
    # Closed before the interpreter exits: left to its teardown, gloo's threads outlived Python and a rank could
    # abort ("terminate called without an active exception") after a run that had finished and written its results.
    atexit.register(_close_process_group)
    # Results gathered through the process group, not through files in a '.dist_test' folder of the current one.
    for name in ("val_evaluator", "test_evaluator"):
        evaluator = cfg.get(name)
        for metric in evaluator if isinstance(evaluator, list) else [evaluator] if evaluator else []:
            metric.setdefault("collect_device", "gpu")
    if torch.cuda.is_available():
        return
    if not torch.distributed.is_initialized():
        torch.distributed.init_process_group(backend="gloo")
    # mmengine's wrapper and its arguments (as in Runner.wrap_model), device_ids=None for a model on the CPU: the
    # config's keys win over the GPU id mmengine adds as a default argument.
    cfg.model_wrapper_cfg = {
        "type": "MMDistributedDataParallel",
        "broadcast_buffers": False,
        "find_unused_parameters": cfg.get("find_unused_parameters", False),
        **(cfg.get("model_wrapper_cfg") or {}),
        "device_ids": None,
    }


def _close_process_group() -> None:
    """Stop gloo's threads while Python is alive. destroy_process_group only drops the registry's reference: the
    finished Runner, kept in reference cycles, still holds the process group through DDP's reducer, so the garbage
    is collected first (measured on a finished 2-rank CPU run: 4 threads left after destroy alone, 1 after both)."""
    if torch.distributed.is_initialized():
        gc.collect()
        torch.distributed.destroy_process_group()


def write_metrics(work_dir, result: dict) -> Path:
    """``work_dir/metrics.json``, written to a temporary file and renamed: a killed run leaves no half file. Under
    DDP every rank holds the same results and rank 0 alone writes them."""
    path = Path(work_dir) / "metrics.json"
    if not is_main_process():
        return path
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(result, indent=1))
    return path
