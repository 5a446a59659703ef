"""Training, evaluation and prediction of skeleton action models through mmengine's Runner.

A config from ``models/`` names the network and the pipelines; :func:`prepare_config` fills in what the store
decides (joints, coordinate channels, classes) and what the command line asks (stream, epochs, initialisation,
linear evaluation, label fraction). Model selection uses a held-out part of the training split, never the test
split: ``best.pth`` is the best epoch on that hold-out, and the test split is scored once, at the end.
"""
from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path

import torch
from mmengine.config import Config

from .. import checkpoints
from ..errors import PosekitError
from ..layouts import Layout
from ..store import SkeletonStore
from ..zoo import models_dir
from .cpu_amp import cpu_supports_bfloat16

MODELS_DIR = models_dir()
STREAMS = {"joint": [], "bone": ["JointToBone"], "joint-motion": ["JointMotion"], "bone-motion": ["BoneMotion"]}
DEFAULT_CONFIGS = {"unik": "unik/unik_1xb16-joint_store.py", "stgcn": "stgcn/stgcn_1xb16-joint_store.py",
                   "dmsd": "dmsd/dmsd_1xb16_arena.py", "lstm-selfsup": "lstm_selfsup/lstm_selfsup_crops.py"}


def set_seed_and_amp(cfg: Config, seed: int | None, amp: bool) -> None:
    """The command-line ``--seed`` and ``--amp`` of every ``posekit train`` model, applied to its config."""
    if seed is not None:
        cfg.randomness.seed = seed
    if amp:
        cfg.optim_wrapper.type = amp_optim_wrapper()


def amp_optim_wrapper() -> str:
    """float16 with loss scaling on a CUDA GPU, else bfloat16 on a CPU with bfloat16 kernels."""
    if torch.cuda.is_available():
        return "AmpOptimWrapper"
    if not cpu_supports_bfloat16():
        raise PosekitError("--amp needs a CUDA GPU or a CPU with bfloat16 kernels (AVX512-BF16 or AMX); "
                           "this machine has neither: train without --amp")
    return "CPUBFloat16OptimWrapper"


def config_path(model: str, config: str | Path | None) -> Path:
    if config is not None:
        path = Path(config)
        if not path.is_file():
            path = MODELS_DIR / config
        if not path.is_file():
            raise PosekitError(f"{config}: no such config file (looked here and in {MODELS_DIR})")
        return path
    if model not in DEFAULT_CONFIGS:
        raise PosekitError(f"unknown model {model!r}; models: {', '.join(DEFAULT_CONFIGS)}")
    return MODELS_DIR / DEFAULT_CONFIGS[model]


def prepare_config(cfg: Config, store: str | Path, work_dir: str | Path, *, stream: str = "joint",
                   epochs: int | None = None, linear: bool = False, label_fraction: float = 1.0,
                   holdout: float = 0.1, test_split: str = "test", train_split: str = "train",
                   amp: bool = False, seed: int | None = None, batch_size: int | None = None,
                   num_workers: int | None = None, model_layout: str | None = None,
                   project_2d: bool = False, test_clips: int | None = None) -> Config:
    """The config with the store's shape, the stream transform and the command-line choices filled in.

    ``model_layout`` (layout JSON): feed the model this layout instead of the store's, mapping joints by name
    (transfer from a model trained on another dataset). ``project_2d``: feed a 3D store's joints as their 2D
    camera view (:class:`~posekit.data.transforms.Project2D`), for a model trained on 2D joints.
    ``test_clips`` K: score each test clip as the mean of K deterministic samplings (multi-clip testing), which
    needs a test pipeline that samples frames (``UniformSample`` with ``test=True``)."""
    info = SkeletonStore(store)
    layout = info.layout
    remap = []
    if model_layout is not None and Layout.from_json(model_layout).joints != info.layout.joints:
        layout = Layout.from_json(model_layout)
        remap = [dict(type="RemapLayout", target=model_layout)]
    if stream not in STREAMS:
        raise PosekitError(f"unknown stream {stream!r}; streams: {', '.join(STREAMS)}")
    for split in (train_split, test_split):
        info.split(split)  # a clear error when the store lacks the split
    if project_2d and info.coord_dims != 3:
        raise PosekitError(f"--project-2d needs a store of 3D joints; {store} has {info.coord_dims}D joints")
    cfg.work_dir = str(work_dir)
    cfg.store = str(store)
    net = cfg.model.net
    net.setdefault("num_joints", layout.num_joints)
    net.setdefault("in_channels", 2 if project_2d else info.coord_dims)
    net["num_classes"] = len(info.classes)
    if net.get("type") == "STGCN":
        net.setdefault("layout", layout.to_dict() if layout.parents else None)
    cfg.model.frozen_backbone = linear
    extra = [dict(type="Project2D")] if project_2d else []
    extra += [dict(type=name) for name in STREAMS[stream]]
    normalise = _normalisation(info)
    loaders = {"train_dataloader": dict(split=train_split, part="train", label_fraction=label_fraction),
               "val_dataloader": dict(split=train_split, part="holdout", label_fraction=1.0),
               "test_dataloader": dict(split=test_split, part="all", label_fraction=1.0)}
    for name, overrides in loaders.items():
        if cfg.get(name) is None:  # a checkpoint trained with nothing held out has no validation loader
            continue
        loader = cfg[name] = copy.deepcopy(cfg[name])  # each loader its own copy: they differ in split
        dataset = loader.dataset
        dataset.update(store=str(store), holdout=holdout, seed=cfg.randomness.get("seed", 0), **overrides)
        pipeline = list(dataset.pipeline)
        if not any(t["type"] in NORMALISATIONS for t in pipeline):
            pipeline = normalise + pipeline
        dataset.pipeline = remap + pipeline + extra
        if batch_size and name == "train_dataloader":
            loader.batch_size = batch_size
        if num_workers is not None:
            loader.num_workers = num_workers
            loader.persistent_workers = num_workers > 0
    if test_clips is not None:
        _set_test_clips(cfg.test_dataloader.dataset, test_clips)
    if holdout <= 0:  # nothing held out: select nothing, keep the last epoch
        cfg.val_dataloader = cfg.val_cfg = cfg.val_evaluator = None
        cfg.default_hooks.checkpoint.save_best = None
    if epochs is not None:
        _set_epochs(cfg, epochs)
    set_seed_and_amp(cfg, seed, amp)
    classes = list(info.classes)
    cfg.test_evaluator = dict(type="ClipAccuracy", out_dir=str(work_dir), class_names=classes)
    cfg.trained_on = dict(store=str(store), layout=layout.to_json(), classes=classes, stream=stream)
    info.close()
    return cfg


NORMALISATIONS = ("NormalizeImage2D", "CentreSkeleton", "ScaleNormalise", "MinMaxNormalise")


def _normalisation(store: SkeletonStore) -> list[dict]:
    """UNIK's input normalisation for the store's coordinates, used when a config's pipeline names none:
    pixels with known image sizes -> x/w*2-1, y/w*2-h/w; anything else -> centred on the body centre."""
    if store.coordinates == "pixel" and (store.column("image_size") > 0).all():
        return [dict(type="NormalizeImage2D")]
    return [dict(type="CentreSkeleton")]


def _set_test_clips(dataset: dict, num_clips: int) -> None:
    if num_clips > 1 and not any(t["type"] == "UniformSample" and t.get("test") for t in dataset.pipeline):
        raise PosekitError("multi-clip testing needs a test pipeline that samples frames "
                           "(dict(type='UniformSample', length=T, test=True)); this config tests whole clips")
    dataset.num_clips = num_clips


def _set_epochs(cfg: Config, epochs: int) -> None:
    """Shorten or stretch the schedule: milestones scale with the number of epochs; a warm-up shrinks with a
    shorter schedule but keeps its length in a longer one (it only has to get past the first noisy steps)."""
    ratio = epochs / cfg.train_cfg.max_epochs
    cfg.train_cfg.max_epochs = epochs
    cfg.train_cfg.val_interval = max(1, min(cfg.train_cfg.get("val_interval", 1), epochs))
    for scheduler in cfg.param_scheduler:
        if "milestones" in scheduler:
            scheduler.milestones = sorted({max(1, round(m * ratio)) for m in scheduler.milestones})
        if "end" in scheduler:
            scheduler.end = max(1, min(scheduler.end, round(scheduler.end * ratio)))


MISMATCHES_SHOWN = 5
INPUT_SHAPE_KEYS = ("in_channels", "num_joints")  # what re-shapes the input layers of a transferred backbone


def load_backbone(model: torch.nn.Module, checkpoint: dict) -> dict:
    """Load a checkpoint's weights except the classifier (re-created for the new classes) and any weight whose
    shape differs; returns the loaded count, the backbone weights it lacks (``missing``) or has in another shape
    (``reshaped``), and every weight left as initialised (``left``)."""
    state = checkpoint.get("state_dict", checkpoint)
    own = model.state_dict()
    backbone = [k for k in own if not k.startswith("net.head.")]
    loaded = {k: state[k] for k in backbone if getattr(state.get(k), "shape", None) == own[k].shape}
    model.load_state_dict(loaded, strict=False)
    return {"loaded": len(loaded), "missing": [k for k in backbone if k not in state],
            "reshaped": [k for k in backbone if k in state and k not in loaded],
            "left": sorted(k for k in own if k not in loaded)}


def check_transfer(transfer: dict, init, *, input_changed: bool, allow_partial: bool) -> dict:
    """Stop when ``--init`` loaded less than the backbone: every weight but the classifier, less those the new
    input (coordinates, joints) re-shapes. Returns the loaded and expected counts."""
    mismatched = transfer["missing"] + ([] if input_changed else transfer["reshaped"])
    counts = {"loaded": transfer["loaded"], "expected": transfer["loaded"] + len(mismatched)}
    if mismatched and not allow_partial:
        shown = ", ".join(mismatched[:MISMATCHES_SHOWN]) + (", ..." if len(mismatched) > MISMATCHES_SHOWN else "")
        raise PosekitError(f"{init}: --init loaded {counts['loaded']} of {counts['expected']} backbone tensors; "
                           f"missing or re-shaped: {shown}; use --allow-partial-init to train the rest from scratch")
    return counts


def train(store, work_dir, *, model: str = "unik", config=None, init=None, launcher: str = "none",
          resume: bool = False, trust_checkpoint: bool = False, allow_partial_init: bool = False, **options) -> dict:
    """Train, keep the best epoch on the hold-out as ``best.pth``, score the test split into ``metrics.json``.
    ``trust_checkpoint``: load ``init`` and the checkpoint resumed from even if that can run code
    (:mod:`posekit.checkpoints`); ``allow_partial_init``: train even if ``init`` fills less than the backbone."""
    work_dir = Path(work_dir)
    if init is not None:  # a model trained on another layout keeps its joints: the store's are mapped to them
        pretrained = checkpoints.load(init, trust=trust_checkpoint)
        pretrained_cfg = checkpoints.training_config(pretrained, init, trust=trust_checkpoint)
        options.setdefault("model_layout", pretrained_cfg.get("trained_on", {}).get("layout"))
    cfg = prepare_config(Config.fromfile(config_path(model, config)), store, work_dir, **options)
    if init is not None and options.get("linear"):
        _check_input_layer_kept(pretrained_cfg.model.net.get("in_channels"), cfg.model.net.in_channels)
    cfg.launcher = launcher
    cfg.resume = resume
    resumed = checkpoints.latest_checkpoint(work_dir) if resume else None
    runner = checkpoints.build_runner(cfg)
    init_tensors = None
    if init is not None:
        transfer = load_backbone(runner.model, pretrained)
        input_changed = any(pretrained_cfg.model.net.get(k) != cfg.model.net.get(k) for k in INPUT_SHAPE_KEYS)
        init_tensors = check_transfer(transfer, init, input_changed=input_changed, allow_partial=allow_partial_init)
        runner.logger.info(f"initialised from {init}: {transfer['loaded']} tensors; re-created {transfer['left']}")
    with checkpoints.mmengine_loads(resumed, trust=trust_checkpoint):  # Runner.resume loads it
        runner.train()
    best = _best_checkpoint(runner, work_dir)
    with checkpoints.allowed_globals():
        runner.load_checkpoint(str(best), map_location="cpu")
    metrics = runner.test()
    result = {"store": str(store), "model": cfg.model.net.type, "config": str(config_path(model, config)),
              **{k: options.get(k) for k in ("stream", "linear", "project_2d", "label_fraction", "epochs")},
              "init": str(init) if init else None, "init_tensors": init_tensors, "seed": cfg.randomness.get("seed"),
              # OptimWrapper trains in float32; the others are --amp's
              "precision": cfg.optim_wrapper.get("type", "OptimWrapper"),
              "best_checkpoint": str(work_dir / "best.pth"),
              "test_split_clips": len(runner.test_dataloader.dataset.indices), **metrics}
    (work_dir / "metrics.json").write_text(json.dumps(result, indent=1))
    return result


def _check_input_layer_kept(pretrained_channels, channels) -> None:
    """Linear evaluation trains only the classifier, so the pre-trained input layer must read the store's joints."""
    if pretrained_channels is None or pretrained_channels == channels:
        return
    hint = (" Add --project-2d to read the store's 3D joints as their 2D camera view."
            if (pretrained_channels, channels) == (2, 3) else "")
    raise PosekitError(f"--linear keeps the pre-trained backbone, whose input layer reads {pretrained_channels} "
                       f"coordinates per joint; this store gives {channels}.{hint}")


def _best_checkpoint(runner, work_dir: Path) -> Path:
    """Copy the hold-out's best checkpoint (or the last one, with no hold-out) to ``work_dir/best.pth``."""
    hook = next(h for h in runner.hooks if type(h).__name__ == "CheckpointHook")
    source = getattr(hook, "best_ckpt_path", None) or runner.message_hub.get_info("last_ckpt") \
        or str(work_dir / f"epoch_{runner.epoch}.pth")
    target = work_dir / "best.pth"
    shutil.copyfile(source, target)
    return target


def evaluate(checkpoint, store, *, split: str = "test", work_dir=None, clips: int | None = None,
             trust_checkpoint: bool = False) -> dict:
    """Score a split of a store with a trained checkpoint; writes scores.pkl and confusion.png to work_dir.
    ``clips``: multi-clip testing, the mean of that many samplings per clip (default: as trained)."""
    from mmengine.runner import Runner, load_state_dict

    state = checkpoints.load(checkpoint, trust=trust_checkpoint)
    cfg = checkpoints.training_config(state, checkpoint, trust=trust_checkpoint)
    work_dir = Path(work_dir or Path(checkpoint).parent / f"eval_{Path(store).stem}")
    # The checkpoint's pipelines already end with their stream transform: add none ("joint").
    cfg = prepare_config(cfg, store, work_dir, stream="joint", holdout=0.0, test_split=split,
                         train_split=split, num_workers=0, test_clips=clips)
    cfg.train_dataloader = cfg.train_cfg = cfg.optim_wrapper = cfg.param_scheduler = None
    # A checkpoint from a resumed run carries resume=True, which would make test() look for a training loop.
    # The weights come from the checkpoint already read: the Runner loads nothing.
    cfg.load_from, cfg.resume = None, False
    runner = Runner.from_cfg(cfg)
    load_state_dict(runner.model, state.get("state_dict", state), logger=runner.logger)
    metrics = runner.test()
    (work_dir / "metrics.json").write_text(json.dumps({"checkpoint": str(checkpoint), "store": str(store),
                                                       "split": split,
                                                       "clips": cfg.test_dataloader.dataset.get("num_clips", 1),
                                                       **metrics}, indent=1))
    return metrics


def predict(checkpoint, store, *, split: str | None = None, device: str | None = None,
            trust_checkpoint: bool = False) -> list[dict]:
    """Label every clip of a store (or one split) with a trained checkpoint: one dict per clip with the
    predicted class, its probability and the top-5. The store's joints are mapped to the training layout."""
    import numpy as np
    from torch.utils.data import DataLoader

    from ..data import collate_clips
    from ..layouts import mapping
    from ..registry import MODELS
    from . import datasets

    state = checkpoints.load(checkpoint, trust=trust_checkpoint)
    cfg = checkpoints.training_config(state, checkpoint, trust=trust_checkpoint)
    trained = cfg.get("trained_on")
    if trained is None:
        raise PosekitError(f"{checkpoint}: no record of the training store; retrain with this posekit")
    layout = Layout.from_json(trained["layout"])
    pipeline = list(cfg.test_dataloader.dataset.pipeline)
    source = SkeletonStore(store)
    if source.layout.joints != layout.joints:
        pipeline = [dict(type="RemapLayout", target=trained["layout"])] + pipeline
        if not mapping(source.layout, layout).matched.any():
            raise PosekitError(f"{store}: layout {source.layout.name!r} shares no joint with the model's "
                               f"{layout.name!r}")
    dataset = datasets.StoreClips(str(store), split=split, pipeline=pipeline)
    model = MODELS.build(cfg.model)
    model.load_state_dict(state.get("state_dict", state))
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    model.to(device).eval()
    classes = trained["classes"]
    results = []
    with torch.no_grad():
        for batch in DataLoader(dataset, batch_size=1, collate_fn=collate_clips):
            probs = model(batch["keypoints"].to(device), batch["label"], mode="tensor").float().softmax(1)[0]
            top = np.argsort(-probs.cpu().numpy())[:5]
            results.append({"id": batch["id"][0], "predicted": classes[top[0]], "probability": float(probs[top[0]]),
                            "top5": [[classes[k], float(probs[k])] for k in top]})
    return results
