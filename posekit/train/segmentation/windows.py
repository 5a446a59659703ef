"""SequenceWindows: sliding windows over the long sequences of a store with per-frame labels (``/frames/labels``),
the samples of action segmentation (thesis sec. 4.3.2: E_V re-trained window by window on long sequences)."""

from __future__ import annotations

import numpy as np
import torch
from mmengine.registry import FUNCTIONS

from ...data import collate_clips
from ...errors import PosekitError
from ...registry import DATASETS
from ...store import StoreError
from ..datasets import StoreClips


def window_starts(frames: int, window: int, stride: int) -> np.ndarray:
    """First frames of the windows over a sequence of ``frames``: every ``stride`` frames, plus one that ends at the
    sequence's end, so every frame is covered; a sequence no longer than ``window`` is one window."""
    if frames <= window:
        return np.zeros(1, np.int64)
    starts = np.arange(0, frames - window + 1, stride)
    return starts if starts[-1] + window == frames else np.append(starts, frames - window)


@DATASETS.register_module()
class SequenceWindows(StoreClips):
    """Windows of ``window`` frames every ``stride`` frames over the sequences of a split (:func:`window_starts`).

    Sequences are chosen as StoreClips chooses clips (``split``, ``part``, ``holdout``, ``label_fraction``, ``seed``),
    so a hold-out or a label fraction takes whole sequences. A sample is StoreClips' (``keypoints`` (C, T, V, M),
    ``label``, ``index`` and ``id`` of the sequence, ``length`` T) plus ``frame_labels`` (T, K) float and ``start``,
    the window's first frame in the sequence. A sequence shorter than ``window`` gives one shorter window, padded by
    :func:`collate_windows`. ``pipeline`` sees the window's frames and must keep all of them (the window is the
    crop), so that each score lands on its frame."""

    def __init__(
        self,
        store: str,
        split: str | None = None,
        pipeline=None,
        window: int = 64,
        stride: int = 32,
        part: str = "all",
        holdout: float = 0.0,
        label_fraction: float = 1.0,
        seed: int = 0,
        fields=("keypoints", "scores"),
    ):
        super().__init__(
            store,
            split=split,
            pipeline=pipeline,
            part=part,
            holdout=holdout,
            label_fraction=label_fraction,
            seed=seed,
            fields=fields,
        )
        if "labels" not in self.store.frame_fields:
            raise StoreError(
                f"{self.store.path}: no per-frame labels (/frames/labels) to segment; chain its clips "
                f"into labelled sequences with `posekit synth untrimmed`"
            )
        if window < 1 or stride < 1:
            raise ValueError(f"window and stride must be at least 1, got {window} and {stride}")
        self.window = window
        lengths = self.store.lengths
        self.windows = np.array(
            [(index, start) for index in self.indices for start in window_starts(int(lengths[index]), window, stride)],
            np.int64,
        ).reshape(-1, 2)

    def __len__(self) -> int:
        return len(self.windows)

    def raw(self, i: int) -> dict:
        """The numpy sample of the i-th window, before the pipeline; its labels under ``frame_labels`` (T, K)."""
        index, start = (int(v) for v in self.windows[i])
        stop = min(start + self.window, int(self.store.lengths[index]))
        first = int(self.store.offsets[index])
        frames = self.store.file["frames"]  # a slice of each array, not the whole (possibly very long) sequence
        sample = {name: frames[name][first + start : first + stop] for name in self.fields}
        sample["keypoints"] = sample.pop(self.coordinates)
        labels = np.zeros((stop - start, self.num_classes), np.float32)
        stored = frames["labels"][first + start : first + stop]
        labels[:, : stored.shape[1]] = stored
        sample.update(
            image_size=self.image_sizes[index],
            label=int(self.store.labels[index]),
            index=index,
            id=self.ids[index].decode(),
            start=start,
            frame_labels=labels,
        )
        return sample

    def __getitem__(self, i: int) -> dict:
        sample = self.raw(i)
        labels, start = sample.pop("frame_labels"), sample["start"]
        if self.transform is not None:
            sample = self.transform(sample)
        out = self.format(sample)
        if out["length"] != len(labels):
            raise PosekitError(
                f"the pipeline turned a {len(labels)}-frame window into {out['length']} frames; a "
                f"segmentation pipeline must keep every frame (no temporal crop or resampling)"
            )
        out.update(frame_labels=torch.from_numpy(labels), start=start)
        return out


def collate_windows(batch: list[dict]) -> dict:
    """:func:`~posekit.data.collate_clips`, plus ``frame_labels`` (N, T_max, K) zero-padded as the frames are, and
    ``start`` (N,)."""
    out = collate_clips(batch)
    labels = torch.zeros(len(batch), out["keypoints"].shape[2], batch[0]["frame_labels"].shape[1])
    for row, sample in enumerate(batch):
        labels[row, : len(sample["frame_labels"])] = sample["frame_labels"]
    out.update(frame_labels=labels, start=torch.tensor([sample["start"] for sample in batch]))
    return out


# mmengine's Runner looks collate functions up in its root registry only, whatever the scope.
FUNCTIONS.register_module(name="collate_windows", module=collate_windows, force=True)
