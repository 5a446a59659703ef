"""The store as mmengine sees it: StoreDataset registered for configs, with label fractions for transfer and the
clips' feature rows (text embeddings...) for the models trained against them."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
from mmengine.registry import FUNCTIONS

from ..data import StoreDataset, collate_clips
from ..registry import DATASETS
from ..store import StoreError


def collate_store_clips(batch: list[dict]) -> dict:
    """:func:`~posekit.data.collate_clips`, plus ``features`` {name: (N, D) float32} when the samples carry
    feature rows (:class:`StoreClips` with ``feature_rows``)."""
    collated = collate_clips(batch)
    if "features" in batch[0]:
        collated["features"] = {
            name: torch.stack([s["features"][name] for s in batch]) for name in batch[0]["features"]
        }
    return collated


# mmengine's Runner looks collate functions up in its root registry only, whatever the scope. Configs name it
# collate_clips: the feature rows come through whenever a dataset reads them, with no second name to get right.
FUNCTIONS.register_module(name="collate_clips", module=collate_store_clips, force=True)


@DATASETS.register_module()
class StoreClips(StoreDataset):
    """StoreDataset of one split, optionally cut into a training part and a held-out part for model selection.

    ``part``: ``all`` (the whole split), ``train`` (the split less the hold-out) or ``holdout`` (``holdout`` of
    each class, drawn with ``seed``). ``label_fraction`` < 1 then keeps that fraction of each class of the part
    (at least one clip), for semi-supervised transfer (fine-tuning with 10% of the labels).
    ``num_clips`` K > 1 (multi-clip testing): each clip is read K times in a row, its k-th read tagged
    ``clip = (k, K)`` for the test-mode :class:`~posekit.data.transforms.UniformSample`;
    :class:`~posekit.train.metric.ClipAccuracy` averages the K scores of a clip id.
    ``feature_rows``: names of per-clip arrays (``/features/NAME``) whose row each sample carries as
    ``features`` {name: (D,) float32 tensor}, NaN where the clip has none (a clip without captions)."""

    def __init__(
        self,
        store: str,
        split: str | None = None,
        pipeline=None,
        part: str = "all",
        holdout: float = 0.0,
        label_fraction: float = 1.0,
        seed: int = 0,
        fields=("keypoints", "scores"),
        num_clips: int = 1,
        feature_rows: Sequence[str] = (),
    ):
        super().__init__(store, split=split, transform=pipeline, fields=fields)
        missing = [name for name in feature_rows if name not in self.store.feature_names]
        if missing:
            raise StoreError(
                f"{self.store.path}: no feature array {missing[0]!r}; it has "
                f"{', '.join(self.store.feature_names) or 'none'} (`posekit text embed` writes text ones)"
            )
        self.feature_rows = tuple(feature_rows)
        if part not in ("all", "train", "holdout"):
            raise ValueError(f"part must be all, train or holdout, got {part!r}")
        if not 0 < label_fraction <= 1 or not 0 <= holdout < 1:
            raise ValueError("label_fraction must be in (0, 1] and holdout in [0, 1)")
        if num_clips < 1:
            raise ValueError(f"num_clips must be at least 1, got {num_clips}")
        self.num_clips = num_clips
        labels = self.store.labels
        if part != "all" and holdout > 0:
            held = fraction_per_class(self.indices, labels, holdout, seed)
            self.indices = held if part == "holdout" else np.setdiff1d(self.indices, held)
        if label_fraction < 1:
            self.indices = fraction_per_class(self.indices, labels, label_fraction, seed + 1)
        self.metainfo = {"classes": tuple(self.store.classes)}  # what mmengine's evaluator and visualiser read

    def __len__(self) -> int:
        return len(self.indices) * self.num_clips

    def raw(self, i: int) -> dict:
        sample = super().raw(i // self.num_clips)
        if self.num_clips > 1:
            sample["clip"] = (i % self.num_clips, self.num_clips)
        return sample

    def __getitem__(self, i: int) -> dict:
        sample = super().__getitem__(i)
        if self.feature_rows:  # after the pipeline, whose formatting keeps only the model's input and the clip's keys
            index = int(sample["index"])
            sample["features"] = {
                name: torch.from_numpy(np.asarray(self.store.feature(name, index), dtype=np.float32))
                for name in self.feature_rows
            }
        return sample


def fraction_per_class(indices: np.ndarray, labels: np.ndarray, fraction: float, seed: int) -> np.ndarray:
    """A stratified subset: round(fraction * n_c) clips of each class c (at least 1), sorted."""
    rng = np.random.default_rng(seed)
    kept = []
    for c in np.unique(labels[indices]):
        members = indices[labels[indices] == c]
        kept.append(rng.choice(members, size=max(1, round(fraction * len(members))), replace=False))
    return np.sort(np.concatenate(kept)) if kept else indices[:0]
