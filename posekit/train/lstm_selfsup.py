"""Training LSTM self-supervision (Brattoli, Buechler et al., CVPR 2017, sec. 3.2): posture and behaviour
embeddings of an animal from unlabelled video, learnt by telling real sequences of its crops from the same crops
permuted (:class:`~posekit.train.sequence_pairs.PermutedSequencePairs`,
:class:`~posekit.train.sequence_order.SequenceOrderModel`, config ``models/lstm_selfsup/``). What is the trainer's
own: crops are cut once into ``WORK_DIR/crops.npz``, the sequence length, stride, LSTM size and learning rate come
from the command line, and the result is the network's embeddings of every frame and sequence,
``WORK_DIR/embeddings.h5``.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import h5py
import numpy as np
import torch
from mmengine.config import Config

from ..checkpoints import LAST_ITERATIONS
from ..registry import TRAINERS
from ..store import atomic_path
from .overrides import Trainer, apply_overrides, config_path, run
from .sequence_order import SequenceOrderModel
from .sequence_pairs import load_crops, save_crops, window_starts


def prepare_config(
    cfg: Config,
    crops: Path,
    work_dir: Path,
    *,
    batch_pairs=None,
    seq_len=None,
    stride=None,
    hidden=None,
    lr=None,
    **overrides,
) -> Config:
    """The config with the crops file and the command-line choices: ``batch_pairs`` n (real, permuted) pairs per
    batch (2n sequences), ``seq_len`` frames per sequence every ``stride`` frames, ``hidden`` LSTM units, ``lr``;
    ``overrides``: those of :func:`~posekit.train.overrides.apply_overrides` (epochs, workers...)."""
    apply_overrides(cfg, work_dir, dataset=dict(crops=str(crops)), batch_size=batch_pairs, **overrides)
    dataset = cfg.train_dataloader.dataset
    if seq_len is not None:
        dataset.length = seq_len
    if stride is not None:
        dataset.stride = stride
    if hidden is not None:
        cfg.model.net.hidden = hidden
    if lr is not None:
        cfg.optim_wrapper.optimizer.lr = lr
    return cfg


def train(
    store,
    work_dir,
    *,
    video=None,
    config=None,
    crop_size: int | None = None,
    resume: bool = False,
    trust_checkpoint: bool = False,
    progress: bool = True,
    **options,
) -> dict:
    """Cut crops of the tracks (or keypoints) ``store`` (once per work dir), train, then write ``embeddings.h5`` and
    copy the last checkpoint to ``WORK_DIR/model.pth``; returns what was written and the last training accuracy.
    ``trust_checkpoint``: resume even from a checkpoint that can run code."""
    from ..rodent.selfsup.crops import store_tracks

    work_dir = Path(work_dir)
    work_dir.mkdir(parents=True, exist_ok=True)
    cfg = Config.fromfile(config_path("lstm-selfsup", config))
    size = crop_size or cfg.crop_size
    crops = work_dir / "crops.npz"
    if not (resume and crops.is_file()):
        save_crops(store_tracks(store, size, video=video, progress=progress), crops)
    cfg = prepare_config(cfg, crops, work_dir, resume=resume, **options)
    cfg.crop_size = size
    cfg.trained_on = dict(store=str(store), crop_size=size)
    runner = run(cfg, trust_checkpoint=trust_checkpoint)
    model = work_dir / "model.pth"
    shutil.copyfile(runner.message_hub.get_info("last_ckpt") or work_dir / f"epoch_{runner.epoch}.pth", model)
    net = runner.model.module.net if hasattr(runner.model, "module") else runner.model.net
    embeddings = write_embeddings(
        net,
        load_crops(crops),
        work_dir / "embeddings.h5",
        length=cfg.train_dataloader.dataset.length,
        progress=progress,
    )
    accuracy = runner.message_hub.get_scalar("train/accuracy")
    return {
        "checkpoint": model,
        "embeddings": embeddings["path"],
        "frames": embeddings["frames"],
        "windows": embeddings["windows"],
        "epochs": runner.epoch,
        "crops": crops,
        "train_accuracy": float(accuracy.mean(LAST_ITERATIONS)) if accuracy is not None else float("nan"),
    }


@torch.no_grad()
def embed(net, crops: dict[str, np.ndarray], length: int, *, batch: int = 256, progress: bool = False):
    """Posture vectors of every valid frame and behaviour vectors of every window of ``length`` valid frames:
    (posture (F, D) with NaN rows for invalid frames, starts (S,), behaviour (S, H))."""
    from ..progress import progress_bar

    device = next(net.parameters()).device
    net.eval()
    frames = torch.from_numpy(crops["crops"])
    posture = torch.full((len(frames), net.posture_dim), float("nan"))
    rows = np.flatnonzero(crops["valid"])
    for begin in progress_bar(range(0, len(rows), batch), desc="posture", unit="batch", show=progress, leave=False):
        chunk = rows[begin : begin + batch]
        x = SequenceOrderModel.scale(frames[chunk]).to(device)[:, None, None]  # (B, T=1, C=1, H, W)
        posture[chunk] = net.posture(x)[:, 0].float().cpu()
    starts = window_starts(crops, length)
    behaviour = torch.zeros((len(starts), net.hidden))
    for begin in range(0, len(starts), batch):
        chunk = starts[begin : begin + batch]
        windows = posture[chunk[:, None] + np.arange(length)].to(device)
        behaviour[begin : begin + len(chunk)] = net.behaviour_from_posture(windows).float().cpu()
    return posture.numpy(), starts, behaviour.numpy()


def write_embeddings(
    net, crops: dict[str, np.ndarray], path: str | Path, *, length: int, progress: bool = False
) -> dict:
    """``embeddings.h5``: /posture (F, D) per frame with /clip, /person, /frame_index; /behaviour (S, H) per window
    of ``length`` frames with /window_start (row of its first frame)."""
    posture, starts, behaviour = embed(net, crops, length, progress=progress)
    with atomic_path(path) as tmp:
        with h5py.File(tmp, "w") as f:
            f.attrs["seq_len"] = length
            f.attrs["about"] = json.dumps(
                {
                    "posture": "per-frame CNN fc6 (NaN: no crop)",
                    "behaviour": "LSTM output after the last frame of each window",
                }
            )
            f["posture"] = posture
            for key in ("clip", "person", "frame_index"):
                f[key] = crops[key]
            f["behaviour"] = behaviour
            f["window_start"] = starts
    return {"path": Path(path), "frames": int(crops["valid"].sum()), "windows": len(starts)}


TRAINERS.register_module(name="lstm-selfsup", module=Trainer(train, "lstm_selfsup/lstm_selfsup_crops.py"))
