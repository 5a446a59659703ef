"""PermutedSequencePairs: the data of LSTM self-supervision (Brattoli, Buechler et al., CVPR 2017, sec. 3.2), real
sequences of crops around an animal, each with the same crops permuted, and the crops file they are read from.

A mini-batch is ``[s_1, pi(s_1), ..., s_n, pi(s_n)]`` with labels ``y_k = k mod 2`` counting k from 1: real
sequences are 1, their permutations 0 (eq. 2). A pair differs only in frame order, so background, lighting and
the animal's looks cannot tell them apart: the network must model posture and its change. The crops of every
track are packed once into one ``.npz`` (:func:`save_crops`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from mmengine.registry import FUNCTIONS
from torch.utils.data import Dataset

from ..errors import PosekitError
from ..registry import DATASETS
from ..store import atomic_path


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
            np.savez(
                f,
                crops=np.concatenate([t.crops for t in tracks]),
                valid=np.concatenate([t.valid for t in tracks]),
                frame_index=np.concatenate([t.frame_index for t in tracks]),
                clip=np.concatenate([np.full(len(t.frame_index), t.clip) for t in tracks]),
                person=np.concatenate([np.full(len(t.frame_index), t.person) for t in tracks]),
                track=np.concatenate([np.full(len(t.frame_index), i) for i, t in enumerate(tracks)]),
            )
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
        real = torch.from_numpy(self.data["crops"][start : start + self.length])
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
