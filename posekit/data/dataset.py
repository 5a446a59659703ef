"""StoreDataset: a torch Dataset over the clips of a skeleton store, read one clip at a time.

Memory does not grow with the frames of the store: only the clip table (offsets, lengths, labels, ids,
image sizes: about 40 bytes a clip) is held; frames are read per item. The store opens its HDF5 handle lazily in each
process, so the dataset can be handed to DataLoader workers started by fork or spawn.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from ..store import SkeletonStore, StoreError
from .transforms import FormatCTVM, build_transforms


class StoreDataset(Dataset):
    """Samples ``{"keypoints": (C, T, V, M) float32 tensor, "label": int, "index": int, "id": str, "length": T}``.

    ``split``: a split name of the store (None: all clips); ``index`` is the clip's index in the store.
    ``transform``: a callable on the numpy sample (see :mod:`posekit.data.transforms`) or a list of config
    dicts for :func:`build_transforms`, which get the store's layout. The output is formatted by
    :class:`FormatCTVM` after the transform, unless the transform already did so.
    ``fields``: the per-frame arrays read from the store (``box``, ``track_id``... when present).
    ``coordinates``: the store field given to the transforms as ``keypoints``: ``keypoints`` (2D, as detected)
    or ``keypoints_3d``.
    Clips keep their own length unless the transform fixes it: batch them with :func:`collate_clips`.
    """

    def __init__(
        self,
        store: str | Path | SkeletonStore,
        split: str | None = None,
        transform=None,
        fields=("keypoints", "scores"),
        coordinates: str = "keypoints",
    ):
        self.store = store if isinstance(store, SkeletonStore) else SkeletonStore(store)
        if coordinates not in self.store.frame_fields:
            raise StoreError(
                f"{self.store.path}: no {coordinates!r} in this store; it has {', '.join(self.store.frame_fields)}"
            )
        self.indices = self.store.split(split)
        self.coordinates = coordinates
        self.fields = tuple(dict.fromkeys((coordinates,) + tuple(f for f in fields if f != "keypoints")))
        if isinstance(transform, (list, tuple)):
            transform = build_transforms(transform, layout=self.store.layout)
        self.transform = transform
        self.format = FormatCTVM()
        # Clip-table columns, a few bytes a clip: ids as UTF-8 bytes (a per-item read of the compressed
        # string column would cost more than the frames) and image sizes (w, h) for NormalizeImage2D.
        self.ids = np.char.encode(self.store.column("id").astype(str), "utf-8")
        self.image_sizes = self.store.column("image_size")

    @property
    def layout(self):
        return self.store.layout

    @property
    def num_classes(self) -> int:
        return len(self.store.classes)

    def __len__(self) -> int:
        return len(self.indices)

    def raw(self, i: int) -> dict:
        """The numpy sample of the i-th clip of the split, before transforms."""
        index = int(self.indices[i])
        sample = self.store.frames(index, self.fields)
        sample["keypoints"] = sample.pop(self.coordinates)
        sample.update(
            image_size=self.image_sizes[index],
            label=int(self.store.labels[index]),
            index=index,
            id=self.ids[index].decode(),
        )
        return sample

    def __getitem__(self, i: int) -> dict:
        sample = self.raw(i)
        if self.transform is not None:
            sample = self.transform(sample)
        return self.format(sample)


def collate_clips(batch: list[dict]) -> dict:
    """Stack samples into ``keypoints`` (N, C, T_max, V, M), zero-padded in time (zeros = missing, as in UNIK),
    with ``length`` (N,) the frames of each clip, ``label`` and ``index`` (N,) tensors and ``id`` a list."""
    lengths = [s["keypoints"].shape[1] for s in batch]
    first = batch[0]["keypoints"]
    out = first.new_zeros((len(batch), first.shape[0], max(lengths)) + tuple(first.shape[2:]))
    for row, s in enumerate(batch):
        out[row, :, : lengths[row]] = s["keypoints"]
    return {
        "keypoints": out,
        "length": torch.tensor(lengths),
        "label": torch.tensor([s["label"] for s in batch]),
        "index": torch.tensor([s["index"] for s in batch]),
        "id": [s["id"] for s in batch],
    }
