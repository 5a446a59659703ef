"""A trained detector: the FCN, the work size it expects, its threshold; batched inference, saving and loading."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from ...errors import InputError
from ...nets.rodent_fcn import RodentFCN, standardise
from ...store import atomic_path
from .blobs import Blob
from .heatmaps import decode

FORMAT = "posekit-rodent-detector"


@dataclass
class Detector:
    net: RodentFCN
    size: int = 160  # work square side, pixels
    width: int = 16  # the FCN's base channel count
    threshold: float = 0.3  # heatmap peak that counts as an animal
    meta: dict = field(default_factory=dict)  # how it was trained: rounds, labels per round, sources

    def detect(
        self, frames: np.ndarray, max_animals: int = 1, device: str = "cpu", batch_size: int = 64
    ) -> list[list[Blob]]:
        """Candidate animals (best first) in each of (N, S, S) uint8 work frames, in work-square pixels."""
        self.net.to(device).eval()
        found = []
        amp = torch.autocast("cuda") if device.startswith("cuda") else contextlib.nullcontext()
        with torch.no_grad(), amp:
            for start in range(0, len(frames), batch_size):
                batch = torch.from_numpy(np.asarray(frames[start : start + batch_size]))[:, None].to(device)
                found += decode(self.net(standardise(batch)), max_animals, self.threshold)
        return found

    def save(self, path: str | Path) -> None:
        """Write the detector atomically (weights + what it needs to run + how it was trained)."""
        state = {
            "format": FORMAT,
            "state_dict": {k: v.cpu() for k, v in self.net.state_dict().items()},
            "size": self.size,
            "width": self.width,
            "threshold": self.threshold,
            "meta": self.meta,
        }
        with atomic_path(path) as tmp:
            torch.save(state, tmp)

    @classmethod
    def load(cls, path: str | Path) -> "Detector":
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except FileNotFoundError:
            raise InputError(f"{path}: no such detector file") from None
        except Exception as e:  # any unpickling failure: not a file this command wrote
            raise InputError(f"{path}: not a posekit rodent detector ({type(e).__name__})") from None
        if not isinstance(state, dict) or state.get("format") != FORMAT:
            raise InputError(f"{path}: not a posekit rodent detector (written by 'posekit rodent detect')")
        net = RodentFCN(state["width"])
        net.load_state_dict(state["state_dict"])
        return cls(net.eval(), state["size"], state["width"], state["threshold"], state["meta"])
