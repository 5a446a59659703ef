"""LSTM self-supervision (Brattoli, Buechler et al., CVPR 2017, sec. 3.2): learn posture and behaviour embeddings
of an animal from unlabelled video by telling real sequences of its crops from the same crops permuted.

A mini-batch is ``[s_1, pi(s_1), ..., s_n, pi(s_n)]`` with labels ``y_k = k mod 2`` counting k from 1: real
sequences are 1, their permutations 0 (eq. 2). A pair differs only in frame order, so background, lighting and
the animal's looks cannot tell them apart: the network must model posture and its change. Training goes through
mmengine's Runner (config ``models/lstm_selfsup/``); crops are cut once into ``WORK_DIR/crops.npz``.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import h5py
import numpy as np
import torch
import torch.nn.functional as F
from mmengine.model import BaseModel
from mmengine.registry import FUNCTIONS
from torch.utils.data import Dataset

from .. import checkpoints
from ..checkpoints import LAST_ITERATIONS
from ..errors import PosekitError
from ..nets import cnn_lstm  # noqa: F401  (registers CNNLSTM)
from ..registry import DATASETS, MODELS
from ..store import atomic_path
from ..train.api import config_path, set_seed_and_amp


def non_identity_permutation(length: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """A random order of ``length`` frames that is never the real order (a negative equal to its positive would
    be labelled both ways)."""
    if length < 2:
        raise ValueError("a sequence needs at least 2 frames to be permuted")
    identity = torch.arange(length)
    while True:
        order = torch.randperm(length, generator=generator)
        if not torch.equal(order, identity):
            return order


def sequence_starts(valid: np.ndarray, length: int, stride: int = 1) -> np.ndarray:
    """Starts of the windows of ``length`` frames that hold only valid frames, every ``stride`` frames."""
    ok = np.convolve(valid.astype(np.int64), np.ones(length, np.int64), mode="valid") == length
    starts = np.flatnonzero(ok)
    return starts[starts % stride == 0] if stride > 1 else starts


def save_crops(tracks, path: str | Path) -> Path:
    """Every track's crops, frame indices and validity, packed into one ``.npz`` (written atomically)."""
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            np.savez(f, crops=np.concatenate([t.crops for t in tracks]),
                     valid=np.concatenate([t.valid for t in tracks]),
                     frame_index=np.concatenate([t.frame_index for t in tracks]),
                     clip=np.concatenate([np.full(len(t.frame_index), t.clip) for t in tracks]),
                     person=np.concatenate([np.full(len(t.frame_index), t.person) for t in tracks]),
                     track=np.concatenate([np.full(len(t.frame_index), i) for i, t in enumerate(tracks)]))
    return Path(path)


def load_crops(path: str | Path) -> dict[str, np.ndarray]:
    with np.load(path) as data:
        return {key: data[key] for key in data.files}


def window_starts(crops: dict[str, np.ndarray], length: int, stride: int = 1) -> np.ndarray:
    """Rows (into the packed crop arrays) where a window of ``length`` valid frames of one track starts."""
    starts = []
    bounds = np.flatnonzero(np.diff(np.concatenate(([-1], crops["track"], [-1])))) if len(crops["track"]) else []
    for begin, end in zip(bounds[:-1], bounds[1:]):
        starts.append(begin + sequence_starts(crops["valid"][begin:end], length, stride))
    return np.concatenate(starts) if starts else np.zeros(0, np.int64)


def augment(sequence: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """One random rotation by a multiple of 90 degrees, mirror and gain for a whole (T, H, W) uint8 sequence.

    A small set of sequences seen again and again can be learnt by heart: "seen before" = real, "new" = permuted,
    which scores on training sequences and fails on any other. Showing each in a new pose and lighting every time
    removes that shortcut (and a top view has no preferred orientation anyway)."""
    turns = int(torch.randint(4, (1,), generator=generator))
    out = torch.rot90(sequence, turns, dims=(1, 2))
    if torch.rand(1, generator=generator) < 0.5:
        out = out.flip(2)
    gain = 0.8 + 0.4 * float(torch.rand(1, generator=generator))
    return (out.float() * gain).clamp(0, 255).to(torch.uint8)


@DATASETS.register_module()
class PermutedSequencePairs(Dataset):
    """Item i: (real sequence, a permutation of it) of ``length`` crops starting at window i of a crops file,
    both under the same random :func:`augment` when ``augment`` is set."""

    def __init__(self, crops: str, length: int = 8, stride: int = 2, augment: bool = True):
        self.length = length
        self.augment = augment
        self.data = load_crops(crops)
        self.starts = window_starts(self.data, length, stride)
        if not len(self.starts):
            raise PosekitError(f"{crops}: no track has {length} valid frames in a row; use a shorter --seq-len")

    def __len__(self) -> int:
        return len(self.starts)

    def __getitem__(self, index: int) -> dict:
        start = int(self.starts[index])
        real = torch.from_numpy(self.data["crops"][start:start + self.length])
        if self.augment:
            real = augment(real)
        return {"real": real, "permuted": real[non_identity_permutation(self.length)]}


def collate_pairs(items: list[dict]) -> dict:
    """The paper's mini-batch: real and permuted sequences interleaved, labels 1, 0, 1, 0... as (2n, T, 1, H, W)."""
    sequences = torch.stack([s for item in items for s in (item["real"], item["permuted"])]).unsqueeze(2)
    labels = torch.tensor([1, 0] * len(items))
    return {"crops": sequences, "label": labels}


# mmengine's Runner looks collate functions up in its root registry only, whatever the scope.
FUNCTIONS.register_module(name="collate_pairs", module=collate_pairs, force=True)


@MODELS.register_module()
class SequenceOrderModel(BaseModel):
    """The surrogate task around a :class:`~posekit.nets.cnn_lstm.CNNLSTM`: cross-entropy of real (1) vs permuted (0).
    Crops arrive as uint8 and are scaled to [-0.5, 0.5] here."""

    def __init__(self, net: dict, data_preprocessor: dict | None = None):
        super().__init__(data_preprocessor=data_preprocessor)
        self.net = MODELS.build(net)

    @staticmethod
    def scale(crops: torch.Tensor) -> torch.Tensor:
        return crops.float() / 255.0 - 0.5

    def forward(self, crops: torch.Tensor, label: torch.Tensor, mode: str = "loss"):
        logits = self.net(self.scale(crops))
        if mode == "loss":
            return {"loss": F.cross_entropy(logits, label),
                    "accuracy": (logits.argmax(1) == label).float().mean().detach()}
        if mode == "predict":
            return [{"logits": row, "label": int(y)} for row, y in zip(logits, label)]
        return logits


def prepare_config(cfg, crops: Path, work_dir: Path, *, epochs=None, batch_pairs=None, seq_len=None,
                   stride=None, hidden=None, lr=None, seed=None, workers=None, amp=False):
    """The config with the crops file and the command-line choices filled in."""
    cfg.work_dir = str(work_dir)
    dataset = cfg.train_dataloader.dataset
    dataset.crops = str(crops)
    if seq_len is not None:
        dataset.length = seq_len
    if stride is not None:
        dataset.stride = stride
    if batch_pairs is not None:  # n pairs per batch: 2n sequences
        cfg.train_dataloader.batch_size = batch_pairs
    if workers is not None:
        cfg.train_dataloader.num_workers = workers
        cfg.train_dataloader.persistent_workers = workers > 0
    if epochs is not None:
        cfg.train_cfg.max_epochs = epochs
        for scheduler in cfg.param_scheduler:
            if "T_max" in scheduler:
                scheduler.T_max = epochs
    if hidden is not None:
        cfg.model.net.hidden = hidden
    if lr is not None:
        cfg.optim_wrapper.optimizer.lr = lr
    set_seed_and_amp(cfg, seed, amp)
    return cfg


def train(tracks_store, work_dir, *, video=None, config=None, crop_size: int | None = None, resume: bool = False,
          trust_checkpoint: bool = False, progress: bool = True, **options) -> dict:
    """Cut crops (once per work dir), train through mmengine's Runner, then write ``embeddings.h5`` and copy the
    last checkpoint to ``WORK_DIR/model.pth``; returns what was written and the last training accuracy.
    ``trust_checkpoint``: resume even from a checkpoint that can run code."""
    from mmengine.config import Config

    from ..compat import ensure_torchvision_importable
    from .crops import store_tracks

    ensure_torchvision_importable()
    work_dir = Path(work_dir)
    work_dir.mkdir(parents=True, exist_ok=True)
    cfg = Config.fromfile(config_path("lstm-selfsup", config))
    size = crop_size or cfg.crop_size
    crops = work_dir / "crops.npz"
    if not (resume and crops.is_file()):
        save_crops(store_tracks(tracks_store, size, video=video, progress=progress), crops)
    cfg = prepare_config(cfg, crops, work_dir, **options)
    cfg.crop_size = size
    cfg.trained_on = dict(store=str(tracks_store), crop_size=size)
    cfg.resume = resume
    resumed = checkpoints.latest_checkpoint(work_dir) if resume else None
    runner = checkpoints.build_runner(cfg)
    with checkpoints.mmengine_loads(resumed, trust=trust_checkpoint):  # Runner.resume loads it
        runner.train()
    model = work_dir / "model.pth"
    shutil.copyfile(runner.message_hub.get_info("last_ckpt") or work_dir / f"epoch_{runner.epoch}.pth", model)
    net = runner.model.module.net if hasattr(runner.model, "module") else runner.model.net
    embeddings = write_embeddings(net, load_crops(crops), work_dir / "embeddings.h5",
                                  length=cfg.train_dataloader.dataset.length, progress=progress)
    accuracy = runner.message_hub.get_scalar("train/accuracy")
    return {"checkpoint": model, "embeddings": embeddings["path"], "frames": embeddings["frames"],
            "windows": embeddings["windows"], "epochs": runner.epoch, "crops": crops,
            "train_accuracy": float(accuracy.mean(LAST_ITERATIONS)) if accuracy is not None else float("nan")}


@torch.no_grad()
def embed(net, crops: dict[str, np.ndarray], length: int, *, batch: int = 256, progress: bool = False):
    """Posture vectors of every valid frame and behaviour vectors of every window of ``length`` valid frames:
    (posture (F, D) with NaN rows for invalid frames, starts (S,), behaviour (S, H))."""
    from tqdm import tqdm

    device = next(net.parameters()).device
    net.eval()
    frames = torch.from_numpy(crops["crops"])
    posture = torch.full((len(frames), net.posture_dim), float("nan"))
    rows = np.flatnonzero(crops["valid"])
    for begin in tqdm(range(0, len(rows), batch), desc="posture", unit="batch", disable=not progress, leave=False):
        chunk = rows[begin:begin + batch]
        x = SequenceOrderModel.scale(frames[chunk]).to(device)[:, None, None]  # (B, T=1, C=1, H, W)
        posture[chunk] = net.posture(x)[:, 0].float().cpu()
    starts = window_starts(crops, length)
    behaviour = torch.zeros((len(starts), net.hidden))
    for begin in range(0, len(starts), batch):
        chunk = starts[begin:begin + batch]
        windows = posture[chunk[:, None] + np.arange(length)].to(device)
        behaviour[begin:begin + len(chunk)] = net.behaviour_from_posture(windows).float().cpu()
    return posture.numpy(), starts, behaviour.numpy()


def write_embeddings(net, crops: dict[str, np.ndarray], path: str | Path, *, length: int,
                     progress: bool = False) -> dict:
    """``embeddings.h5``: /posture (F, D) per frame with /clip, /person, /frame_index; /behaviour (S, H) per window
    of ``length`` frames with /window_start (row of its first frame)."""
    posture, starts, behaviour = embed(net, crops, length, progress=progress)
    with atomic_path(path) as tmp:
        with h5py.File(tmp, "w") as f:
            f.attrs["seq_len"] = length
            f.attrs["about"] = json.dumps({"posture": "per-frame CNN fc6 (NaN: no crop)",
                                           "behaviour": "LSTM output after the last frame of each window"})
            f["posture"] = posture
            for key in ("clip", "person", "frame_index"):
                f[key] = crops[key]
            f["behaviour"] = behaviour
            f["window_start"] = starts
    return {"path": Path(path), "frames": int(crops["valid"].sum()), "windows": len(starts)}
