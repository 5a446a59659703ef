"""``posekit train pretrain``: self-supervised contrastive pre-training of UNIK on the unlabelled windows of a
store's split (thesis ch. 4: LAC, ViA). The model and its momentum hook are :mod:`posekit.train.contrastive`'s, the
data :class:`~posekit.train.datasets.StoreClips` (labels ignored); what is the trainer's own is the store's shape,
the pipeline, the motion generator and its layout, the queue length, and the result: ``best.pth``, the last epoch
(there is nothing to select on without labels), which ``posekit train unik --init`` loads like any checkpoint.

The generator modes (``compose``, ``retarget``) feed the frozen motion generator the store's joints, as
``posekit retarget`` does: 2D (``--project-2d`` for a 3D store), in its layout (mapped by name when every joint it
reads is in the store's), gaps filled by interpolation over time, and in metres, as the ``posekit synth views``
renders it is trained on: a metric store's joints are shifted only (``CentreSkeleton``: the generator reads joints
relative to its root and the root's velocity, so a shift changes nothing); any other store's (pixels of Penn
Action, image-normalised joints) are scaled, per skeleton, so that its median torso has the renders' length
(``TORSO_METRES``), and its views scaled back, so that any uniform normalisation of the store may come first. UNIK
reads the generated views as they come, which are normalised as the store's windows are.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from mmengine.config import Config

from .. import checkpoints
from ..data.transforms import RandomFlip
from ..errors import PosekitError
from ..layouts import Layout, mapping
from ..motion import MIN_FRAMES, STRIDE, load_generator
from ..nets.positives import MODES
from ..registry import TRAINERS
from ..store import SkeletonStore, atomic_path
from .api import NORMALISATIONS, check_choices, default_normalisation
from .contrastive import unwrapped
from .overrides import Trainer, apply_overrides, config_path, run, write_metrics

CONFIG = "pretrain/unik-pretrain_1xb32-{}_store.py"  # the default config of each --positives
WINDOW_TRANSFORMS = ("RandomTemporalCrop", "ResizeTime", "UniformSample", "ReplayPad")  # those whose length is T
SHIFTS = ("CentreSkeleton",)  # normalisations the motion generator is blind to
PER_AXIS = ("MinMaxNormalise",)  # normalisations that change a body's shape, which no scale to metres undoes
# The median mid-shoulder to mid-hip length (metres) of the 2D bodies of `posekit synth views` renders of N-UCLA's
# training split (10th-90th percentile 0.35-0.47): what joints not in metres are scaled to for the generator.
TORSO_METRES = 0.44
TORSO_ENDS = {"shoulders": ("left_shoulder", "right_shoulder"), "hips": ("left_hip", "right_hip")}


def prepare_config(
    cfg: Config,
    store,
    work_dir,
    *,
    positives: str | None = None,
    generator=None,
    project_2d: bool = False,
    split: str = "train",
    frame_weight: float | None = None,
    window: int | None = None,
    trust_checkpoint: bool = False,
    **overrides,
):
    """The config with the store's shape, the pipeline, the positives' mode and generator, the queue length and the
    command-line choices; ``overrides``: those of :func:`~posekit.train.overrides.apply_overrides` (epochs,
    batch_size...). Returns it and the generator network to load into the model (None in ``augment`` mode)."""
    views = cfg.model.views
    views.mode = positives or views.mode
    _check_positives(views.mode, generator)
    window = window or cfg.model.window
    pipeline = list(cfg.train_dataloader.dataset.pipeline)
    generator_net = None
    with SkeletonStore(store) as info:
        check_choices(info, store, stream="joint", splits=(split,), project_2d=project_2d)
        windows = len(info.split(split))
        layout, remap = info.layout, []
        if generator is not None:
            generator_net, layout, spec = _generator(generator, trust_checkpoint)
            _check_generator_input(info, store, generator, project_2d=project_2d, window=window)
            remap = _generator_remap(info, store, generator, layout)
            views.generator = spec
            metric = info.coordinates == "metric"
            views.to_metres = None if metric else _torso(layout, generator)
        if not any(t["type"] in NORMALISATIONS for t in pipeline):
            pipeline = default_normalisation(info) + pipeline
        coord_dims = 2 if project_2d else info.coord_dims
    if generator is not None:
        _check_normalisation(pipeline, views.mode, metric)
    extra = [dict(type="InterpolateGaps")] if generator is not None else []
    extra += [dict(type="Project2D")] if project_2d else []
    cfg.train_dataloader.dataset.pipeline = remap + _with_window(pipeline, window) + extra
    _fill_model(cfg.model, layout, coord_dims, window, frame_weight, mirror_x=project_2d and generator is not None)
    apply_overrides(cfg, work_dir, dataset=dict(store=str(store), split=split), **overrides)
    cfg.model.queue_size = queue_length(cfg.model.queue_size, windows, cfg.train_dataloader.batch_size, store, split)
    cfg.trained_on = dict(
        store=str(store),
        split=split,
        layout=layout.to_json(),
        coord_dims=coord_dims,
        project_2d=project_2d,
        stream="joint",
        positives=views.mode,
        generator=str(generator) if generator is not None else None,
        generator_torso_metres=(views.get("to_metres") or {}).get("torso"),
    )
    return cfg, generator_net


def _check_positives(mode: str, generator) -> None:
    if mode not in MODES:
        raise PosekitError(f"unknown positives {mode!r}; positives: {', '.join(MODES)}")
    if mode != "augment" and generator is None:
        raise PosekitError(f"--positives {mode} needs --generator CKPT, a checkpoint of posekit train motion-generator")
    if mode == "augment" and generator is not None:
        raise PosekitError("--generator is for --positives compose or retarget; --positives augment uses none")


def _generator(checkpoint, trust: bool) -> tuple:
    """The trained generator network, its layout and its config (what rebuilds it inside the model)."""
    net, layout = load_generator(checkpoint, trust=trust)
    spec = checkpoints.training_config(checkpoints.load(checkpoint, trust=trust), checkpoint, trust=trust).model.net
    return net, layout, spec.to_dict()


def _check_generator_input(info: SkeletonStore, store, generator, *, project_2d: bool, window: int) -> None:
    """The generator reads 2D joints, a multiple of 8 frames."""
    if info.coord_dims != 2 and not project_2d:
        raise PosekitError(f"{store}: 3D joints; the motion generator {generator} reads 2D joints: add --project-2d")
    if window % STRIDE or window < MIN_FRAMES:
        raise PosekitError(
            f"--window {window}: the motion generator reads a multiple of {STRIDE} frames, at least {MIN_FRAMES}"
        )


def _generator_remap(info: SkeletonStore, store, generator, layout: Layout) -> list[dict]:
    """No transform when the store has the generator's joints in its order; a RemapLayout when it has them all
    under other indices or by interpolation; else a one-line error naming both layouts."""
    if info.layout.joints == layout.joints:
        return []
    matched = mapping(info.layout, layout).matched
    if not matched.all():
        lacking = [joint for joint, found in zip(layout.joints, matched) if not found]
        raise PosekitError(
            f"{store}: layout {info.layout.name!r} ({info.layout.num_joints} joints) cannot feed the "
            f"motion generator {generator}, trained on layout {layout.name!r} ({layout.num_joints} "
            f"joints): no {', '.join(lacking)}"
        )
    return [dict(type="RemapLayout", target=layout.to_json())]


def _torso(layout: Layout, generator) -> dict:
    """PositiveViews' ``to_metres``: the generator's torso joints and the length to scale them to."""
    lacking = [joint for joints in TORSO_ENDS.values() for joint in joints if joint not in layout.joints]
    if lacking:
        raise PosekitError(
            f"the motion generator {generator} (layout {layout.name!r}) has no {', '.join(lacking)}, which "
            f"scale joints not in metres to its bodies: use a metric store (3D or its renders) or --positives augment"
        )
    ends = {part: [layout.joints.index(joint) for joint in joints] for part, joints in TORSO_ENDS.items()}
    return dict(ends, torso=TORSO_METRES)


def _check_normalisation(pipeline: list[dict], mode: str, metric: bool) -> None:
    """Metric joints reach the generator shifted only; others through uniform scales only (a scale to metres
    follows, see the module notes)."""
    allowed = SHIFTS if metric else [name for name in NORMALISATIONS if name not in PER_AXIS]
    scaling = [t["type"] for t in pipeline if t["type"] in NORMALISATIONS and t["type"] not in allowed]
    if scaling and metric:
        raise PosekitError(
            f"--positives {mode}: the config's {', '.join(scaling)} rescales the joints before the "
            f"motion generator, which reads them in metres; normalise with CentreSkeleton only"
        )
    if scaling:
        raise PosekitError(
            f"--positives {mode}: the config's {', '.join(scaling)} scales each axis on its own before the "
            f"motion generator, which changes a body's shape; use a uniform normalisation (e.g. NormalizeImage2D)"
        )


def _with_window(pipeline: list[dict], window: int) -> list[dict]:
    """The pipeline with every windowing transform set to ``window`` frames."""
    return [dict(t, length=window) if t["type"] in WINDOW_TRANSFORMS else t for t in pipeline]


def _fill_model(
    model: dict, layout: Layout, coord_dims: int, window: int, frame_weight: float | None, *, mirror_x: bool
) -> None:
    model.net.num_joints = layout.num_joints
    model.net.in_channels = coord_dims
    model.window = window
    model.views.augment.mirror = RandomFlip(layout).order.tolist()  # each joint's left/right twin
    model.generator_mirror_x = mirror_x
    if frame_weight is not None:
        model.frame_weight = frame_weight


def queue_length(configured: int, windows: int, batch_size: int, store, split: str) -> int:
    """The queue: the config's, at most half the training windows (but at least a batch). A window's key from the
    last epoch is then in the queue, a false negative, in about 1 step in 8 (shuffled epochs); a queue as long as
    the split holds it in 1 step in 2, and 8,192 over N-UCLA's 1,020 training clips holds every clip 8 times."""
    if windows < batch_size:
        raise PosekitError(
            f"{store} [{split}]: {windows} windows, fewer than a batch of {batch_size}: use a smaller --batch-size"
        )
    return max(batch_size, min(configured, windows // 2))


def train(
    store, work_dir, *, config=None, positives: str | None = None, trust_checkpoint: bool = False, **options
) -> dict:
    """Pre-train, copy the last epoch to ``work_dir/best.pth`` and write ``work_dir/metrics.json``. ``config``
    defaults to the config of ``positives`` (augment without either); ``options``: those of :func:`prepare_config`.
    ``trust_checkpoint``: read the generator and the checkpoint resumed from even if that can run code."""
    work_dir = Path(work_dir)
    path = config_path("pretrain", config or (CONFIG.format(positives) if positives in MODES else None))
    cfg, generator = prepare_config(
        Config.fromfile(path), store, work_dir, positives=positives, trust_checkpoint=trust_checkpoint, **options
    )

    def load_generator_weights(runner) -> None:
        unwrapped(runner.model).views.generator.load_state_dict(generator.state_dict())

    runner = run(
        cfg,
        trust_checkpoint=trust_checkpoint,
        before_training=load_generator_weights if generator is not None else None,
    )
    best = keep_last_epoch(runner, work_dir)
    model = cfg.model
    result = {
        **run_summary(cfg, runner, store, path),
        "positives": model.views.mode,
        "generator": cfg.trained_on.generator,
        "project_2d": cfg.trained_on.project_2d,
        "num_positives": model.views.num_positives,
        "frame_weight": model.frame_weight,
        **last_iterations(runner.message_hub, ("loss", "positive_top1")),
        "positive_top1_chance": 100 * model.views.num_positives / (model.views.num_positives + model.queue_size),
        "best_checkpoint": str(best),
    }
    write_metrics(work_dir, result)
    return result


def keep_last_epoch(runner, work_dir: Path) -> Path:
    """The last epoch's checkpoint copied to ``work_dir/best.pth`` through a temporary file: nothing is held out to
    select an epoch on."""
    best = work_dir / "best.pth"
    with atomic_path(best) as tmp:
        shutil.copyfile(runner.message_hub.get_info("last_ckpt") or work_dir / f"epoch_{runner.epoch}.pth", tmp)
    return best


def run_summary(cfg: Config, runner, store, path) -> dict:
    """What a contrastive run reports of itself: its data, config, schedule, window and queue."""
    return {
        "store": str(store),
        "split": cfg.trained_on.split,
        "config": str(path),
        "epochs": cfg.train_cfg.max_epochs,
        "seed": cfg.randomness.get("seed"),
        "window": cfg.model.window,
        "batch_size": cfg.train_dataloader.batch_size,
        "train_windows": len(runner.train_dataloader.dataset),
        "queue_size": cfg.model.queue_size,
        "temperature": cfg.model.temperature,
    }


def last_iterations(hub, logged: tuple[str, ...]) -> dict:
    """The logged scalars whose names start with one of ``logged`` (losses, percentages), means over the last
    iterations (posekit.checkpoints.LAST_ITERATIONS)."""
    names = [name for name in hub.log_scalars if name.removeprefix("train/").startswith(logged)]
    return {
        name.removeprefix("train/"): float(hub.get_scalar(name).mean(checkpoints.LAST_ITERATIONS)) for name in names
    }


TRAINERS.register_module(name="pretrain", module=Trainer(train, CONFIG.format("augment")))
