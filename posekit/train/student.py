"""SSTA-PRS self-training (thesis ch. 3.3.3): train a student pose estimator on SST-A pseudo ground truth.

:func:`train_student` exports the pseudo labels of a refined store (:mod:`posekit.refine.pseudo_labels`: boxes,
anchor classes, frames), then trains an mmpose top-down model through mmengine's Runner: by default RTMPose-t at
128x128 with the anchor-pose classification branch (models/ssta_prs/, :mod:`posekit.nets.student_head`). What is
the trainer's own: the pseudo-label data, the store's joints, the anchors, the device and the files it writes

    WORK_DIR/pseudo_labels/       the COCO JSON and the frames it trained on
    WORK_DIR/student_config.py    a self-contained mmpose config (custom_imports names the head's module)
    WORK_DIR/student.pth          the weights and dataset meta (no optimiser state)
    WORK_DIR/expert.json          {"type": "mmpose", "name": "student", "config": ..., "checkpoint": ...}

so ``posekit extract --experts WORK_DIR/expert.json`` loads it, as does ``mmpose.apis.init_model(config,
checkpoint)`` under ``posekit.checkpoints.allowed_globals()`` (torch's weights-only loading needs it for the numpy
arrays of the dataset meta). The config inside ``student.pth`` is JSON (posekit.checkpoints), never Python text.
Offline there are no pretrained weights: the student starts from ``checkpoint`` when given (any mmpose
checkpoint; weights whose shapes differ are left as initialised), else from scratch.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from mmengine.config import Config

from pose_refine import GAMMA

from .. import checkpoints
from ..compat import ensure_mmpose_importable
from ..errors import PosekitError
from ..layouts import Layout
from ..refine.pseudo_labels import LABELS_FILE, export_coco
from ..registry import TRAINERS
from ..store import SkeletonStore, atomic_path
from .overrides import Trainer, apply_overrides, config_path, run

SIGMA = 0.07  # OKS sigma per joint; only OKS metrics read it and posekit computes none, so one value for all


def train_student(
    refined_store,
    work_dir,
    *,
    gamma: float = GAMMA,
    anchors: int = 20,
    config=None,
    checkpoint=None,
    epochs: int | None = None,
    device: str = "cpu",
    images=None,
    anchor_loss_weight: float | None = None,
    batch_size: int | None = None,
    amp: bool = False,
    seed: int = 0,
    trust_checkpoint: bool = False,
) -> dict:
    """Pseudo-label ``refined_store`` and train the student in ``work_dir``; returns the paths and the final
    losses and accuracies (means over the last 50 iterations). ``trust_checkpoint``: start from ``checkpoint``
    even if loading it needs full unpickling (posekit.checkpoints)."""
    ensure_mmpose_importable()

    if device not in ("cpu", "cuda"):
        raise PosekitError(f"device must be 'cpu' or 'cuda', got {device!r}")
    if (device == "cuda" or amp) and not torch.cuda.is_available():
        raise PosekitError("the student needs a CUDA GPU for device='cuda' or AMP; none is visible to torch")
    path = config_path("student", config)
    if checkpoint is not None and not Path(checkpoint).is_file():
        raise PosekitError(f"{checkpoint}: no such checkpoint to initialise the student from")
    work_dir = Path(work_dir)
    work_dir.mkdir(parents=True, exist_ok=True)
    labels = export_coco(
        refined_store, work_dir / "pseudo_labels", gamma=gamma, anchors=anchors, images=images, seed=seed
    )
    with SkeletonStore(refined_store) as store:
        layout = store.layout

    cfg = prepare_config(
        Config.fromfile(path),
        work_dir,
        layout,
        anchors=anchors,
        anchor_loss_weight=anchor_loss_weight,
        checkpoint=checkpoint,
        epochs=epochs,
        batch_size=batch_size,
        seed=seed,
        amp=amp,
    )
    with atomic_path(work_dir / "student_config.py") as tmp:
        tmp.write_text(cfg.pretty_text)
    training = cfg.copy()
    training.test_dataloader = training.test_cfg = training.test_evaluator = None  # nothing to test against
    # mmengine moves the model to any GPU it sees; the caller decides
    runner = run(training, trust_checkpoint=trust_checkpoint, before_training=lambda built: built.model.to(device))
    hub = runner.message_hub
    losses = {
        name.removeprefix("train/"): float(hub.get_scalar(name).mean(checkpoints.LAST_ITERATIONS))
        for name in hub.log_scalars
        if name.split("/")[-1].startswith(("loss", "acc"))
    }
    student = _save_weights(runner, work_dir / "student.pth")
    expert = {
        "type": "mmpose",
        "name": "student",
        "config": str((work_dir / "student_config.py").resolve()),
        "checkpoint": str(student.resolve()),
    }
    with atomic_path(work_dir / "expert.json") as tmp:
        tmp.write_text(json.dumps(expert, indent=1))
    return {
        "expert": str(work_dir / "expert.json"),
        "config": expert["config"],
        "checkpoint": expert["checkpoint"],
        "pseudo_labels": labels,
        "epochs": int(cfg.train_cfg.max_epochs),
        "device": device,
        "initialised_from": str(checkpoint) if checkpoint is not None else None,
        "final_losses": losses,
    }


def prepare_config(
    cfg: Config,
    work_dir: Path,
    layout: Layout,
    *,
    anchors: int,
    anchor_loss_weight: float | None = None,
    checkpoint=None,
    **overrides,
) -> Config:
    """The config with the pseudo labels of ``work_dir`` as data, the store's joints, the anchors and the
    checkpoint to start from; the Runner works in ``work_dir/runs``. ``overrides``: those of
    :func:`~posekit.train.overrides.apply_overrides` (epochs, batch_size, seed, amp)."""
    head = cfg.model.head
    head.out_channels = layout.num_joints
    head.num_anchors = anchors
    if anchor_loss_weight is not None:
        head.anchor_loss_weight = anchor_loss_weight
    data = dict(
        data_root=str((work_dir / "pseudo_labels").resolve()), ann_file=LABELS_FILE, metainfo=mmpose_metainfo(layout)
    )
    apply_overrides(cfg, work_dir / "runs", dataset=data, **overrides)
    # the Runner loads it; it never reads the config inside (mmpose checkpoints hold Python text)
    cfg.load_from = str(checkpoint) if checkpoint is not None else None
    return cfg


def mmpose_metainfo(layout: Layout) -> dict:
    """mmpose dataset meta of a posekit layout: names, left/right swaps (by the ``left_``/``right_`` names,
    used by flip tests), the layout's bones as the skeleton."""
    joints = list(layout.joints)

    def swap(name):
        for side, other in (("left_", "right_"), ("right_", "left_")):
            if name.startswith(side) and other + name[len(side) :] in joints:
                return other + name[len(side) :]
        return ""

    lower = ("hip", "knee", "ankle", "foot", "heel", "toe")
    keypoint_info = {
        i: dict(
            name=name,
            id=i,
            color=[255, 128, 0],
            swap=swap(name),
            type="lower" if any(part in name for part in lower) else "upper",
        )
        for i, name in enumerate(joints)
    }
    skeleton_info = {
        i: dict(link=(joints[child], joints[parent]), id=i, color=[0, 255, 0])
        for i, (child, parent) in enumerate(layout.bones)
    }
    return dict(
        dataset_name=f"ssta-prs-{layout.name}",
        keypoint_info=keypoint_info,
        skeleton_info=skeleton_info,
        joint_weights=[1.0] * len(joints),
        sigmas=[SIGMA] * len(joints),
    )


def _save_weights(runner, path: Path) -> Path:
    """The last epoch's weights and meta (what init_model reads), without the optimiser state."""
    source = runner.message_hub.get_info("last_ckpt") or str(Path(runner.work_dir) / f"epoch_{runner.epoch}.pth")
    state = checkpoints.load(source)
    with atomic_path(path) as tmp:
        torch.save({"state_dict": state["state_dict"], "meta": state.get("meta", {})}, tmp)
    for full in Path(runner.work_dir).glob("*.pth"):  # with optimiser state, 3x the size; the logs stay
        full.unlink()
    return path


TRAINERS.register_module(name="student", module=Trainer(train_student, "ssta_prs/rtmpose-t_ssta-prs_1xb32-128x128.py"))
