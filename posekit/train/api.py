"""Training, evaluation and prediction of skeleton action models (UNIK, ST-GCN, CTR-GCN) through mmengine's Runner.

A config from ``models/`` names the network and the pipelines; :func:`prepare_config` fills in what the store
decides (joints, coordinate channels, classes) and what the command line asks of an action model (stream, linear
evaluation, label fraction, hold-out, 2D projection, another layout, test clips), then the choices every trainer
shares (:mod:`posekit.train.overrides`); :func:`train` adds the initialisation from another checkpoint. Model
selection uses a held-out part of the training split, never the test split: ``best.pth`` is the best epoch on that
hold-out, and the test split is scored once, at the end.
"""

from __future__ import annotations

import copy
import inspect
import shutil
from functools import partial
from pathlib import Path

import torch
from mmengine.config import Config
from mmengine.dist import barrier, is_main_process
from mmengine.runner import load_state_dict

from .. import checkpoints
from ..errors import PosekitError
from ..layouts import Layout
from ..registry import MODELS, TRAINERS
from ..store import SkeletonStore, atomic_path
from .overrides import Trainer, apply_overrides, config_path, run, write_metrics

STREAMS = {"joint": [], "bone": ["JointToBone"], "joint-motion": ["JointMotion"], "bone-motion": ["BoneMotion"]}
NORMALISATIONS = ("NormalizeImage2D", "CentreSkeleton", "ScaleNormalise", "MinMaxNormalise")


def prepare_config(
    cfg: Config,
    store: str | Path,
    work_dir: str | Path,
    *,
    stream: str = "joint",
    linear: bool = False,
    label_fraction: float = 1.0,
    holdout: float = 0.1,
    test_split: str = "test",
    train_split: str = "train",
    model_layout: str | None = None,
    project_2d: bool = False,
    test_clips: int | None = None,
    **overrides,
) -> Config:
    """The config with the store's shape, the stream transform and the command-line choices filled in;
    ``overrides``: those of :func:`~posekit.train.overrides.apply_overrides` (epochs, batch_size, workers...).

    ``model_layout`` (layout JSON): feed the model this layout instead of the store's, mapping joints by name
    (transfer from a model trained on another dataset). ``project_2d``: feed a 3D store's joints as their 2D
    camera view (:class:`~posekit.data.transforms.Project2D`), for a model trained on 2D joints.
    ``test_clips`` K: score each test clip as the mean of K deterministic samplings (multi-clip testing), which
    needs a test pipeline that samples frames (``UniformSample`` with ``test=True``)."""
    with SkeletonStore(store) as info:
        check_choices(info, store, stream=stream, splits=(train_split, test_split), project_2d=project_2d)
        layout, remap = _model_layout(info, model_layout)
        _fill_network(cfg.model, layout, 2 if project_2d else info.coord_dims, len(info.classes), linear=linear)
        extra = [dict(type="Project2D")] if project_2d else []
        extra += [dict(type=name) for name in STREAMS[stream]]
        _fill_loaders(
            cfg,
            default_normalisation(info),
            remap,
            extra,
            train_split=train_split,
            test_split=test_split,
            holdout=holdout,
            label_fraction=label_fraction,
        )
        classes = list(info.classes)
        coord_dims = 2 if project_2d else info.coord_dims
    if test_clips is not None:
        _set_test_clips(cfg.test_dataloader.dataset, test_clips)
    if holdout <= 0:  # nothing held out: select nothing, keep the last epoch
        cfg.val_dataloader = cfg.val_cfg = cfg.val_evaluator = None
        cfg.default_hooks.checkpoint.save_best = None
    apply_overrides(cfg, work_dir, dataset=dict(store=str(store)), **overrides)
    # the config's test metric (ClipAccuracy for recognisers, FrameSegmentation for segment), writing to the work dir
    cfg.test_evaluator = dict(type=cfg.test_evaluator.type, out_dir=str(work_dir), class_names=classes)
    cfg.trained_on = dict(
        store=str(store), layout=layout.to_json(), classes=classes, stream=stream, coord_dims=coord_dims
    )
    return cfg


def check_choices(info: SkeletonStore, store, *, stream: str, splits, project_2d: bool) -> None:
    if stream not in STREAMS:
        raise PosekitError(f"unknown stream {stream!r}; streams: {', '.join(STREAMS)}")
    for split in splits:
        info.split(split)  # a clear error when the store lacks the split
    if project_2d and info.coord_dims != 3:
        raise PosekitError(f"--project-2d needs a store of 3D joints; {store} has {info.coord_dims}D joints")


def _model_layout(info: SkeletonStore, model_layout: str | None) -> tuple[Layout, list[dict]]:
    """The layout the model reads and the transform that maps the store's joints to it (none when they agree)."""
    if model_layout is None or Layout.from_json(model_layout).joints == info.layout.joints:
        return info.layout, []
    return Layout.from_json(model_layout), [dict(type="RemapLayout", target=model_layout)]


def _fill_network(model: dict, layout: Layout, in_channels: int, num_classes: int, *, linear: bool) -> None:
    net = model.net
    net.setdefault("num_joints", layout.num_joints)
    net.setdefault("in_channels", in_channels)
    net["num_classes"] = num_classes
    if _takes_layout(net.type):  # a fixed-graph network (ST-GCN) builds its graph from the layout's bones
        net.setdefault("layout", layout.to_dict() if layout.parents else None)
    model.frozen_backbone = linear


def _takes_layout(net_type: str) -> bool:
    network = MODELS.get(net_type)
    return network is not None and "layout" in inspect.signature(network).parameters


def _fill_loaders(
    cfg: Config,
    normalise: list[dict],
    remap: list[dict],
    extra: list[dict],
    *,
    train_split: str,
    test_split: str,
    holdout: float,
    label_fraction: float,
) -> None:
    """Each loader's split and part, and its pipeline: the layout remap, a normalisation when it names none, then
    the 2D projection and the stream transform."""
    parts = {
        "train_dataloader": dict(split=train_split, part="train", label_fraction=label_fraction),
        "val_dataloader": dict(split=train_split, part="holdout", label_fraction=1.0),
        "test_dataloader": dict(split=test_split, part="all", label_fraction=1.0),
    }
    seed = cfg.randomness.get("seed", 0)  # the config's, not --seed's: runs of any seed hold out the same clips
    for name, part in parts.items():
        if cfg.get(name) is None:  # a checkpoint trained with nothing held out has no validation loader
            continue
        loader = cfg[name] = copy.deepcopy(cfg[name])  # each loader its own copy: they differ in split
        dataset = loader.dataset
        dataset.update(holdout=holdout, seed=seed, **part)
        pipeline = list(dataset.pipeline)
        if not any(t["type"] in NORMALISATIONS for t in pipeline):
            pipeline = normalise + pipeline
        dataset.pipeline = remap + pipeline + extra


def default_normalisation(store: SkeletonStore) -> list[dict]:
    """UNIK's input normalisation for the store's coordinates, used when a config's pipeline names none:
    pixels with known image sizes -> x/w*2-1, y/w*2-h/w; anything else -> centred on the body centre."""
    if store.coordinates == "pixel" and (store.column("image_size") > 0).all():
        return [dict(type="NormalizeImage2D")]
    return [dict(type="CentreSkeleton")]


def _set_test_clips(dataset: dict, num_clips: int) -> None:
    if num_clips > 1 and not any(t["type"] == "UniformSample" and t.get("test") for t in dataset.pipeline):
        raise PosekitError(
            "multi-clip testing needs a test pipeline that samples frames "
            "(dict(type='UniformSample', length=T, test=True)); this config tests whole clips"
        )
    dataset.num_clips = num_clips


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
    return {
        "loaded": len(loaded),
        "missing": [k for k in backbone if k not in state],
        "reshaped": [k for k in backbone if k in state and k not in loaded],
        "left": sorted(k for k in own if k not in loaded),
    }


def check_transfer(transfer: dict, init, *, input_changed: bool, allow_partial: bool) -> dict:
    """Stop when ``--init`` loaded less than the backbone: every weight but the classifier, less those the new
    input (coordinates, joints) re-shapes. Returns the loaded and expected counts."""
    mismatched = transfer["missing"] + ([] if input_changed else transfer["reshaped"])
    counts = {"loaded": transfer["loaded"], "expected": transfer["loaded"] + len(mismatched)}
    if mismatched and not allow_partial:
        shown = ", ".join(mismatched[:MISMATCHES_SHOWN]) + (", ..." if len(mismatched) > MISMATCHES_SHOWN else "")
        raise PosekitError(
            f"{init}: --init loaded {counts['loaded']} of {counts['expected']} backbone tensors; "
            f"missing or re-shaped: {shown}; use --allow-partial-init to train the rest from scratch"
        )
    return counts


def train(
    store,
    work_dir,
    *,
    model: str = "unik",
    config=None,
    init=None,
    launcher: str = "none",
    trust_checkpoint: bool = False,
    allow_partial_init: bool = False,
    **options,
) -> dict:
    """Train, keep the best epoch on the hold-out as ``best.pth``, score the test split into ``metrics.json``.
    ``model``: the trainer whose default config trains without ``config``; ``trust_checkpoint``: load ``init``
    and the checkpoint resumed from even if that can run code (:mod:`posekit.checkpoints`);
    ``allow_partial_init``: train even if ``init`` fills less than the backbone; ``options``: those of
    :func:`prepare_config`."""
    work_dir = Path(work_dir)
    path = config_path(model, config)
    if init is not None:  # a model trained on another layout keeps its joints: the store's are mapped to them
        pretrained = checkpoints.load(init, trust=trust_checkpoint)
        pretrained_cfg = checkpoints.training_config(pretrained, init, trust=trust_checkpoint)
        options.setdefault("model_layout", pretrained_cfg.get("trained_on", {}).get("layout"))
    cfg = prepare_config(Config.fromfile(path), store, work_dir, launcher=launcher, **options)
    if init is not None and options.get("linear"):
        _check_input_layer_kept(pretrained_cfg.model.net.get("in_channels"), cfg.model.net.in_channels)
    init_tensors = None

    def load_init(runner) -> None:
        nonlocal init_tensors
        init_tensors = _load_init(runner, init, pretrained, pretrained_cfg, allow_partial=allow_partial_init)

    runner = run(cfg, trust_checkpoint=trust_checkpoint, before_training=load_init if init is not None else None)
    best = _best_checkpoint(runner, work_dir)
    load_state_dict(runner.model, checkpoints.load(best)["state_dict"], logger=runner.logger)
    metrics = runner.test()
    result = {
        "store": str(store),
        "model": cfg.model.net.type,
        "config": str(path),
        **{k: options.get(k) for k in ("stream", "linear", "project_2d", "label_fraction")},
        "epochs": cfg.train_cfg.max_epochs,  # the config's when --epochs was not given
        "init": str(init) if init else None,
        "init_tensors": init_tensors,
        "seed": cfg.randomness.get("seed"),
        # OptimWrapper trains in float32; the others are --amp's
        "precision": cfg.optim_wrapper.get("type", "OptimWrapper"),
        "best_checkpoint": str(work_dir / "best.pth"),
        "test_split_clips": len(runner.test_dataloader.dataset.indices),
        **metrics,
    }
    write_metrics(work_dir, result)
    return result


def _load_init(runner, init, pretrained: dict, pretrained_cfg: Config, *, allow_partial: bool) -> dict:
    """``--init``: the pre-trained backbone into the built model; the loaded and expected tensor counts."""
    transfer = load_backbone(runner.model, pretrained)
    net = runner.cfg.model.net
    input_changed = any(pretrained_cfg.model.net.get(k) != net.get(k) for k in INPUT_SHAPE_KEYS)
    counts = check_transfer(transfer, init, input_changed=input_changed, allow_partial=allow_partial)
    runner.logger.info(f"initialised from {init}: {transfer['loaded']} tensors; re-created {transfer['left']}")
    return counts


def _check_input_layer_kept(pretrained_channels, channels) -> None:
    """Linear evaluation trains only the classifier, so the pre-trained input layer must read the store's joints."""
    if pretrained_channels is None or pretrained_channels == channels:
        return
    hint = (
        " Add --project-2d to read the store's 3D joints as their 2D camera view."
        if (pretrained_channels, channels) == (2, 3)
        else ""
    )
    raise PosekitError(
        f"--linear keeps the pre-trained backbone, whose input layer reads {pretrained_channels} "
        f"coordinates per joint; this store gives {channels}.{hint}"
    )


def _best_checkpoint(runner, work_dir: Path) -> Path:
    """Copy the hold-out's best checkpoint (or the last one, with no hold-out) to ``work_dir/best.pth``. Under DDP
    rank 0 copies it (it alone saved the checkpoints) and every rank waits for the copy before reading it."""
    target = work_dir / "best.pth"
    if is_main_process():
        hook = next(h for h in runner.hooks if type(h).__name__ == "CheckpointHook")
        source = (
            getattr(hook, "best_ckpt_path", None)
            or runner.message_hub.get_info("last_ckpt")
            or str(work_dir / f"epoch_{runner.epoch}.pth")
        )
        with atomic_path(target) as tmp:
            shutil.copyfile(source, tmp)
    barrier()
    return target


def evaluate(
    checkpoint, store, *, split: str = "test", work_dir=None, clips: int | None = None, trust_checkpoint: bool = False
) -> dict:
    """Score a split of a store with a trained checkpoint; writes scores.pkl and confusion.png to work_dir.
    ``clips``: multi-clip testing, the mean of that many samplings per clip (default: as trained)."""
    state = checkpoints.load(checkpoint, trust=trust_checkpoint)
    cfg = checkpoints.training_config(state, checkpoint, trust=trust_checkpoint)
    work_dir = Path(work_dir or Path(checkpoint).parent / f"eval_{Path(store).stem}")
    # The checkpoint's pipelines already end with their stream transform: add none ("joint").
    cfg = prepare_config(
        cfg,
        store,
        work_dir,
        stream="joint",
        holdout=0.0,
        test_split=split,
        train_split=split,
        workers=0,
        test_clips=clips,
    )
    cfg.train_dataloader = cfg.train_cfg = cfg.optim_wrapper = cfg.param_scheduler = None
    # A checkpoint from a resumed run carries resume=True, which would make test() look for a training loop.
    # The weights come from the checkpoint already read: the Runner loads nothing.
    cfg.load_from, cfg.resume = None, False
    runner = checkpoints.build_runner(cfg)
    load_state_dict(runner.model, state.get("state_dict", state), logger=runner.logger)
    metrics = runner.test()
    write_metrics(
        work_dir,
        {
            "checkpoint": str(checkpoint),
            "store": str(store),
            "split": split,
            "clips": cfg.test_dataloader.dataset.get("num_clips", 1),
            **metrics,
        },
    )
    return metrics


class CheckpointRecognizer:
    """A trained action recogniser (``posekit train unik``, ``stgcn``, ``ctrgcn``) read from its checkpoint:
    ``net``, its network in eval mode (keypoints (N, C, T, V, M) -> logits (N, classes)), and ``info``, what
    labelling clips with it needs: the network's name, the class names, the training layout (JSON), the stream and
    the test pipeline (which ends with the stream transform). :class:`posekit.deploy.runtime.OnnxRecognizer` is the
    same for an ONNX export."""

    def __init__(self, checkpoint, *, device: str | None = None, trust_checkpoint: bool = False):
        state = checkpoints.load(checkpoint, trust=trust_checkpoint)
        cfg = checkpoints.training_config(state, checkpoint, trust=trust_checkpoint)
        _check_clip_recognizer(cfg, checkpoint)
        trained = cfg.get("trained_on")
        if trained is None:
            raise PosekitError(f"{checkpoint}: no record of the training store; retrain with this posekit")
        model = MODELS.build(cfg.model)
        model.load_state_dict(state.get("state_dict", state))
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.net = model.net.to(self.device).eval()
        self.info = {
            "model": cfg.model.net.type,
            "classes": list(trained["classes"]),
            "layout": trained["layout"],
            "stream": trained.get("stream"),
            "pipeline": cfg.to_dict()["test_dataloader"]["dataset"]["pipeline"],
        }

    def logits(self, keypoints: torch.Tensor) -> torch.Tensor:
        """(N, C, T, V, M) keypoints -> (N, classes) float32 logits on the CPU."""
        with torch.no_grad():
            return self.net(keypoints.to(self.device)).float().cpu()


def _check_clip_recognizer(cfg: Config, checkpoint) -> None:
    """Stop at a checkpoint of another model (pre-training, motion generator, segmentation...) in one line."""
    kind = cfg.model.get("type")
    head = cfg.model.get("net", {}).get("head", "cls")
    if kind != "SkeletonRecognizer" or head != "cls":
        what = f"a {kind} checkpoint" if kind != "SkeletonRecognizer" else f"a recogniser with a {head!r} head"
        raise PosekitError(
            f"{checkpoint}: {what}, not a clip action recogniser (posekit train unik, stgcn or ctrgcn makes those)"
        )


def prediction_clips(store, split: str | None, info: dict):
    """The clips of a store (or one split) as a recogniser reads them: the store's joints mapped to its training
    layout when they differ, then its test pipeline."""
    from ..layouts import generic_layout, mapping
    from . import datasets

    layout = Layout.from_json(info["layout"])
    pipeline = list(info["pipeline"])
    source = SkeletonStore(store)
    if source.layout.joints != layout.joints:
        pipeline = [dict(type="RemapLayout", target=info["layout"])] + pipeline
        if not mapping(source.layout, layout).matched.any():
            unnamed = source.layout.joints == generic_layout(source.layout.num_joints).joints
            hint = (
                "; its joints have no names: give --layout, the layout they are in, and -O joint_order=layout "
                "(or -O joint_names=FILE)"
                if unnamed
                else ""
            )
            raise PosekitError(
                f"{store}: layout {source.layout.name!r} shares no joint with the model's {layout.name!r}{hint}"
            )
    return datasets.StoreClips(str(store), split=split, pipeline=pipeline)


def predict(
    checkpoint, store, *, split: str | None = None, device: str | None = None, trust_checkpoint: bool = False
) -> list[dict]:
    """Label every clip of a store (or one split) with a trained checkpoint, or with its ONNX export (a ``.onnx``
    file from ``posekit export``, run by onnxruntime on the CPU; ``device`` and ``trust_checkpoint`` are the
    checkpoint's): one dict per clip with the predicted class, its probability and the top-5. Either way the clips
    go through the same pipeline, rebuilt from the checkpoint's config or the export's metadata. Every error about
    the store's clips names the store."""
    from torch.utils.data import DataLoader

    from ..data import collate_clips

    if Path(checkpoint).suffix.lower() == ".onnx":
        from ..deploy.runtime import OnnxRecognizer

        recognizer = OnnxRecognizer(checkpoint)
    else:
        recognizer = CheckpointRecognizer(checkpoint, device=device, trust_checkpoint=trust_checkpoint)
    dataset = prediction_clips(store, split, recognizer.info)
    classes = recognizer.info["classes"]
    results = []
    try:
        for batch in DataLoader(dataset, batch_size=1, collate_fn=collate_clips):
            probs = recognizer.logits(batch["keypoints"]).softmax(1)[0].numpy()
            results.append(_labelled(batch["id"][0], probs, classes))
    except PosekitError as e:  # a clip the pipeline refuses (no image size...): say which store holds it
        raise type(e)(str(e) if str(e).startswith(str(store)) else f"{store}: {e}") from None
    return results


def _labelled(clip_id: str, probs, classes: list[str]) -> dict:
    """One clip's prediction: the most probable class, its probability and the top-5, best first."""
    import numpy as np

    top = np.argsort(-probs)[:5]
    return {
        "id": clip_id,
        "predicted": classes[top[0]],
        "probability": float(probs[top[0]]),
        "top5": [[classes[k], float(probs[k])] for k in top],
    }


TRAINERS.register_module(name="unik", module=Trainer(partial(train, model="unik"), "unik/unik_1xb16-joint_store.py"))
TRAINERS.register_module(
    name="stgcn", module=Trainer(partial(train, model="stgcn"), "stgcn/stgcn_1xb16-joint_store.py")
)
TRAINERS.register_module(
    name="ctrgcn", module=Trainer(partial(train, model="ctrgcn"), "ctrgcn/ctrgcn_1xb16-joint_store.py")
)
# Action segmentation: the same path, with a per-frame head, sliding windows and frame-level metrics in the config.
TRAINERS.register_module(
    name="segment",
    module=Trainer(partial(train, model="segment"), "unik_segmentation/unik_1xb16-frame-bce-win64_untrimmed.py"),
)
