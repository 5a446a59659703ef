"""RetargetPairs: pairs of renders of a ``posekit synth views`` store, with their retargeting ground truth.

A sample is a window of two renders A = (motion m, body b, view v) and B = (motion m', b', v') of other motions
and statics, and the two renders that swap them: AB = (m, b', v'), A's motion on B's body and view, and
BA = (m', b, v). A (body, view) pair is a 'static'. Validation holds out bodies and views: the training part uses
only statics whose body and view are both kept, the validation part only statics whose body or view is held out,
so a validation target is always a body or a view the model never saw.
"""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import Dataset

from ..registry import DATASETS
from ..store import SkeletonStore, StoreError

IDS = ("motion_id", "body_id", "view_id")


@DATASETS.register_module()
class RetargetPairs(Dataset):
    """``part``: ``train`` (every window of every motion with every kept static, B drawn anew at each read) or
    ``val`` (every window once, with a fixed held-out static and a fixed B drawn with ``seed``).
    ``window`` frames every ``stride`` frames (motions shorter than ``window`` but at least ``min_frames`` long are
    padded by repeating their last frame); windows with a missing joint are left out. ``val_bodies``: how many of
    the last body ids are held out; ``val_views``: the held-out views as yaw degrees (default: every third view
    from the second, yaw -60 and 30 of the thesis's seven)."""

    def __init__(
        self,
        store: str,
        part: str = "train",
        window: int = 64,
        stride: int = 32,
        min_frames: int | None = None,
        val_bodies: int = 1,
        val_views=None,
        seed: int = 0,
    ):
        if part not in ("train", "val"):
            raise ValueError(f"part must be train or val, got {part!r}")
        self.store = SkeletonStore(store)
        self.window = window
        missing = [name for name in IDS if name not in self.store.feature_names]
        if missing:
            raise StoreError(f"{store}: no /features/{missing[0]}; make training pairs with posekit synth views")
        motion, body, view = (self.store.feature(name)[:, 0].astype(np.int64) for name in IDS)
        self.clip_of = {key: i for i, key in enumerate(zip(motion.tolist(), body.tolist(), view.tolist()))}
        statics = sorted(set(zip(body.tolist(), view.tolist())))
        held = _held_out(store, body, view, self.store.feature("view_angles")[:, 0], val_bodies, val_views)
        self.statics = [s for s in statics if (s[0] in held[0] or s[1] in held[1]) == (part == "val")]
        if window % 8 or window < 16:
            raise StoreError(f"{store}: the generator reads windows of a multiple of 8 frames, >= 16; got {window}")
        self.windows = self._windows(motion, min_frames or window // 2, stride)
        self.window_motion = np.array([m for m, _ in self.windows])
        if not self.windows or not self.statics:
            raise StoreError(
                f"{store}: no {part} windows of {window} frames (motions too short, or no "
                f"{'held-out' if part == 'val' else 'kept'} body and view)"
            )
        self.part = part
        self.metainfo = {"part": part, "statics": self.statics}  # mmengine hands it to the metric
        if part == "val":
            rng = np.random.default_rng(seed)
            self.fixed = [
                (w, a, self._other_window(w, rng.random()), self._other_static(a, rng.random()))
                for w in range(len(self.windows))
                for a in [int(rng.integers(len(self.statics)))]
            ]

    def _windows(self, motion, min_frames, stride) -> list[tuple[int, int]]:
        """(motion, start) of every complete window; a render of each motion tells where joints are missing (every
        render of a motion misses the same joints)."""
        windows = []
        for m in np.unique(motion):
            clip = int(np.flatnonzero(motion == m)[0])
            valid = ~np.isnan(self._frames(clip)).any(axis=(1, 2))
            length = len(valid)
            if length < min_frames:
                continue
            for start in range(0, max(length - self.window, 0) + 1, stride):
                if valid[start : start + self.window].all():
                    windows.append((int(m), start))
        return windows

    def _frames(self, clip: int) -> np.ndarray:
        return self.store.frames(clip, ("keypoints",))["keypoints"][:, 0]

    def _other_window(self, w: int, u: float) -> int:
        """A window of another motion (of the same one only when the store has a single motion), picked by a
        uniform draw ``u`` in [0, 1)."""
        others = np.flatnonzero(self.window_motion != self.window_motion[w])
        if not len(others):
            others = np.arange(len(self.windows))
        return int(others[int(u * len(others))])

    def _other_static(self, static: int, u: float) -> int:
        """Another static than ``static`` (the same one only when there is a single one), picked by ``u``."""
        n = len(self.statics)
        return (static + 1 + int(u * (n - 1))) % n if n > 1 else static

    def read(self, w: int, static: int) -> torch.Tensor:
        """(window, V, 2) frames of window ``w`` rendered on a static, padded by repeating the last frame."""
        motion, start = self.windows[w]
        frames = self._frames(self.clip_of[(motion, *self.statics[static])])[start : start + self.window]
        pad = np.repeat(frames[-1:], self.window - len(frames), axis=0)
        return torch.from_numpy(np.concatenate([frames, pad]).astype(np.float32))

    def __len__(self) -> int:
        return len(self.windows) * (len(self.statics) if self.part == "train" else 1)

    def __getitem__(self, index: int) -> dict:
        if self.part == "val":
            wa, sa, wb, sb = self.fixed[index]
        else:
            # np.random: mmengine seeds it per worker and epoch, which keeps a seeded run reproducible
            wa, sa = divmod(index, len(self.statics))
            wb, sb = self._other_window(wa, np.random.random()), self._other_static(sa, np.random.random())
        return {"a": self.read(wa, sa), "b": self.read(wb, sb), "ab": self.read(wa, sb), "ba": self.read(wb, sa)}


def _held_out(store, body, view, yaw, val_bodies: int, val_views) -> tuple[set, set]:
    """Body ids and view ids held out for validation."""
    bodies, views = np.unique(body), np.unique(view)
    if not 0 <= val_bodies < len(bodies):
        raise StoreError(f"{store}: cannot hold out {val_bodies} of its {len(bodies)} bodies")
    if val_views is None:
        held_views = set(views[1::3].tolist())
    else:
        held_views = {int(v) for v, y in zip(view, yaw) if np.isclose(y, list(val_views)).any()}
        if not all(np.isclose(yaw, y).any() for y in val_views):
            raise StoreError(
                f"{store}: held-out yaws {list(val_views)} are not all among its views "
                f"{sorted(set(np.round(yaw, 3).tolist()))}"
            )
    return set(bodies[len(bodies) - val_bodies :].tolist()), held_views
