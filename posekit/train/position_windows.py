"""PositionWindows: windows of video frames of a labelled RatPose-style store, for future-position prediction (DMSD).

A sample is a window of ``clip_frames`` frames taken every ``stride``-th frame and ending at a labelled frame; its
class is where the animal is ``horizon`` later (``posekit rodent label``). Frames come from the HDF5 frames file
each clip's ``/clips/source`` names (``/videos/<clip id>``, (T, H, W) uint8), as
``posekit.rodent.ratpose.arena`` writes.
"""

from __future__ import annotations

import os
from pathlib import Path

import h5py
import numpy as np
import torch
from torch.utils.data import Dataset

from ..registry import DATASETS
from ..rodent.ratpose.labels import (
    CLASSES,
    body_centre,
    clip_meta,
    constant_velocity_classes,
    frame_classes,
    get_convention,
)
from ..store import SkeletonStore, StoreError


@DATASETS.register_module()
class PositionWindows(Dataset):
    """Windows of a labelled RatPose-style store's split: ``frames`` (T, 1, H, W) float in 0..1, ``label``,
    ``group`` (index of the clip's scenario and session, the contrast loss's positives) and ``id``
    (``clip@frame``). ``sample_step``: take every that-many-th labelled end frame of each clip."""

    def __init__(self, store: str, split: str, clip_frames: int = 8, stride: int = 3, sample_step: int = 5):
        self.store_path = Path(store)
        self.clip_frames, self.stride = clip_frames, stride
        history = (clip_frames - 1) * stride
        clips, ends, labels, groups = [], [], [], []
        with SkeletonStore(store) as store_:
            texts = store_.column("text")
            metas = [clip_meta(text, f"{store}: clip {cid!r}") for text, cid in zip(texts, store_.ids)]
            scenes = sorted({(m["scenario"], m["session"]) for m in metas})
            sources = store_.column("source")
            self.positions = {}
            for i in store_.split(split):
                classes = frame_classes(store_, i)
                end = np.arange(history, len(classes))
                end = end[classes[end] >= 0][::sample_step]
                clips += [i] * len(end)
                ends.append(end)
                labels.append(classes[end])
                groups += [scenes.index((metas[i]["scenario"], metas[i]["session"]))] * len(end)
                self.positions[int(i)] = body_centre(store_.frames(i, ("keypoints",))["keypoints"], store_.layout)
            self.ids = store_.ids
            self.fps = store_.column("fps")
            self.image_size = store_.column("image_size")
        self.clips = np.array(clips, np.int64)
        self.ends = np.concatenate(ends) if ends else np.zeros(0, np.int64)
        self.labels = np.concatenate(labels) if labels else np.zeros(0, np.int64)
        self.groups = np.array(groups, np.int64)
        self.sources = {int(i): self.store_path.parent / sources[i] for i in np.unique(self.clips)}
        for path in set(self.sources.values()):
            if not path.is_file():
                raise StoreError(f"{store}: frames file {path} (named by /clips/source) does not exist")
        self.metainfo = {"classes": CLASSES}
        self._files, self._pid = {}, None

    def __len__(self) -> int:
        return len(self.clips)

    def _video(self, clip: int):
        if self._pid != os.getpid():  # one handle per process: DataLoader workers open their own
            self._files, self._pid = {}, os.getpid()
        path = self.sources[clip]
        if path not in self._files:
            self._files[path] = h5py.File(path, "r")
        try:
            return self._files[path]["videos"][self.ids[clip]]
        except KeyError:
            raise StoreError(f"{path}: no video /videos/{self.ids[clip]}") from None

    def sample_id(self, index: int) -> str:
        return f"{self.ids[self.clips[index]]}@{self.ends[index]}"

    def __getitem__(self, index: int) -> dict:
        clip, end = int(self.clips[index]), int(self.ends[index])
        start = end - (self.clip_frames - 1) * self.stride
        frames = self._video(clip)[start : end + 1 : self.stride]
        return {
            "frames": torch.from_numpy(frames).float().div_(255).unsqueeze(1),
            "label": int(self.labels[index]),
            "group": int(self.groups[index]),
            "id": self.sample_id(index),
        }

    def constant_velocity(self, horizon: float, radius: float, convention: str) -> np.ndarray:
        """The constant-velocity prediction of every window, from the body centre over its frames."""
        rule = get_convention(convention)
        history = (self.clip_frames - 1) * self.stride
        predicted = np.empty(len(self), np.int64)
        for clip in np.unique(self.clips):
            rows = self.clips == clip
            predicted[rows] = constant_velocity_classes(
                self.positions[int(clip)],
                self.ends[rows],
                history,
                int(round(horizon * self.fps[clip])),
                radius * max(self.image_size[clip]),
                rule,
            )
        return predicted
