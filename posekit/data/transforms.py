"""UNIK-style transforms on a clip sample, composable and buildable by name from config dicts: each registers in
:data:`posekit.registry.TRANSFORMS` (``@TRANSFORMS.register_module()``) and :func:`build_transforms` finds it there.

A sample is a dict of numpy arrays until :class:`FormatCTVM`: ``keypoints`` (T, M, V, C) with NaN for missing
joints, ``scores`` (T, M, V), ``image_size`` (width, height), plus ``label``, ``index``, ``id``.
Temporal transforms index every per-frame array alike (``FRAME_KEYS``), person transforms every per-person one;
coordinate transforms change ``keypoints`` only (the dataset puts 2D or 3D coordinates there).
NaN stays NaN through every transform and becomes 0 only at the end, as UNIK reads zeros as missing.

Random transforms draw from their own ``np.random.Generator``: seeded with ``seed`` in the main process when one
is given; otherwise, and in each DataLoader worker, from ``(torch.initial_seed(), the transform's name, seed)`` on
first use, so workers and transforms do not repeat each other and a run whose torch seed is set (mmengine's
``randomness.seed``, ``--seed``) is reproducible, with or without workers.
"""

from __future__ import annotations

import inspect
import os
import warnings
import zlib
from contextlib import contextmanager

import numpy as np
import torch

from ..errors import InputError
from ..layouts import Layout, get_layout, mapping
from ..registry import TRANSFORMS

FRAME_KEYS = ("keypoints", "scores", "keypoints_3d", "track_id", "box", "labels", "frame_index")
PERSON_KEYS = ("keypoints", "scores", "keypoints_3d", "track_id", "box")  # axis 1 runs over persons


class Compose:
    def __init__(self, transforms):
        self.transforms = list(transforms)

    def __call__(self, sample: dict) -> dict:
        for t in self.transforms:
            sample = t(sample)
        return sample

    def __repr__(self):
        return f"Compose({self.transforms!r})"


# -- helpers ----------------------------------------------------------------------------------------------------
def _take_frames(sample: dict, indices: np.ndarray) -> dict:
    for key in FRAME_KEYS:
        if key in sample:
            sample[key] = sample[key][indices]
    return sample


def _take_persons(sample: dict, order: np.ndarray, num: int) -> dict:
    """Keep persons ``order`` (in that order), padded to ``num`` with missing persons."""
    for key in PERSON_KEYS:
        if key in sample:
            value = sample[key][:, order]
            pad = num - value.shape[1]
            if pad > 0:
                fill = -1 if value.dtype.kind in "iu" else np.nan
                value = np.concatenate(
                    [value, np.full((value.shape[0], pad) + value.shape[2:], fill, value.dtype)], axis=1
                )
            sample[key] = value
    return sample


def _joint_indices(layout: Layout, joint: str) -> list[int]:
    """Joint indices whose mean is ``joint``: itself, or its ``derived`` rule (e.g. COCO's neck)."""
    indices = mapping(layout, Layout(name="_", joints=(joint,))).sources[0]
    if not indices:
        raise InputError(f"layout {layout.name!r}: no joint {joint!r} and no rule to interpolate it")
    return list(indices)


def _joint_position(indices: list[int], x: np.ndarray) -> np.ndarray:
    """(..., C) mean of joints ``indices`` of x (..., V, C); NaN if one of them is missing."""
    return x[..., indices, :].mean(axis=-2)


def _fill_missing_rows(values: np.ndarray) -> np.ndarray:
    """Replace NaN rows of (T, C) by the nearest valid row in time; all NaN stays all NaN."""
    valid = np.flatnonzero(~np.isnan(values).any(axis=-1))
    if len(valid) in (0, len(values)):
        return values
    t = np.arange(len(values))
    after = valid[np.clip(np.searchsorted(valid, t), 0, len(valid) - 1)]
    before = valid[np.clip(np.searchsorted(valid, t) - 1, 0, len(valid) - 1)]
    return values[np.where(t - before <= after - t, before, after)]


@contextmanager
def _quiet():
    """Silence numpy's 'empty slice' warnings: an all-NaN slice is a missing value here, not a problem."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


class RandomTransform:
    """Base of the random transforms: a per-process generator (see the module docstring)."""

    def __init__(self, seed: int | None = None):
        self.seed = seed
        self._rng = None if seed is None else np.random.default_rng(seed)
        self._pid = os.getpid()

    @property
    def rng(self) -> np.random.Generator:
        # A DataLoader worker, or no seed: a stream from torch's seed (per worker in a worker), drawn at first use,
        # after the Runner has set it; the name keeps two transforms from drawing the same numbers.
        if self._rng is None or self._pid != os.getpid():
            name = zlib.crc32(type(self).__name__.encode())
            entropy = [torch.initial_seed() % (1 << 63), name] + ([] if self.seed is None else [self.seed])
            self._rng = np.random.default_rng(entropy)
            self._pid = os.getpid()
        return self._rng


def _range(value, symmetric: bool) -> tuple[float, float]:
    """A (low, high) range from a scalar (``-a..a`` if symmetric else ``1-a..1+a``) or a pair."""
    if np.isscalar(value):
        return (-value, value) if symmetric else (1 - value, 1 + value)
    low, high = value
    return float(low), float(high)


# -- coordinates ------------------------------------------------------------------------------------------------
@TRANSFORMS.register_module()
class NormalizeImage2D:
    """UNIK's 2D normalisation by image size: x/w*2-1, y/w*2-h/w (the width keeps the aspect ratio).

    ``image_size`` (width, height) comes from the sample (the store's clip table) unless given here."""

    def __init__(self, image_size: tuple[int, int] | None = None):
        self.image_size = image_size

    def __call__(self, sample):
        w, h = (float(v) for v in (self.image_size or sample.get("image_size", (0, 0))))
        if w <= 0 or h <= 0:
            raise InputError(
                f"clip {sample.get('id', '?')!r}: unknown image size; give NormalizeImage2D an "
                f"image_size or store one per clip"
            )
        x = sample["keypoints"].astype(np.float32, copy=True)
        x[..., 0] = x[..., 0] / w * 2 - 1
        x[..., 1] = x[..., 1] / w * 2 - h / w
        sample["keypoints"] = x
        return sample


@TRANSFORMS.register_module()
class CentreSkeleton:
    """Subtract the layout's centre joint of the main person (person 0), from all persons.

    ``per_frame=False``: the centre of the first frame where it is valid (keeps the global trajectory);
    ``per_frame=True``: each frame's centre (frames where it is missing use the nearest valid frame's).
    A layout without a centre joint uses the mean of the valid joints."""

    def __init__(self, layout: Layout | str, joint: str | None = None, per_frame: bool = False):
        self.layout = get_layout(layout)
        joint = joint or self.layout.centre
        self.indices = _joint_indices(self.layout, joint) if joint else None
        self.per_frame = per_frame

    def __call__(self, sample):
        x = sample["keypoints"]
        main = x[:, 0]  # (T, V, C)
        if self.indices is not None:
            centre = _joint_position(self.indices, main)
        else:
            with _quiet():
                centre = np.nanmean(main, axis=1)
        if self.per_frame:
            centre = _fill_missing_rows(centre)[:, None, None, :]
        else:
            valid = np.flatnonzero(~np.isnan(centre).any(axis=-1))
            if not len(valid):
                return sample
            centre = centre[valid[0]]
        sample["keypoints"] = (x - centre).astype(np.float32)
        return sample


@TRANSFORMS.register_module()
class ScaleNormalise:
    """Divide coordinates by a body length: the median over frames and persons of ``head``-``neck`` (the layout's
    head and neck joints, SST-A's D_normal) or ``torso`` (neck to mid-hip). Apply after centring."""

    def __init__(self, layout: Layout | str, segment: str = "torso"):
        if segment not in ("torso", "head_neck"):
            raise ValueError("segment must be 'torso' or 'head_neck'")
        self.layout = get_layout(layout)
        ends = ("neck", "mid_hip") if segment == "torso" else (self.layout.head or "nose", self.layout.neck or "neck")
        self.ends = [_joint_indices(self.layout, joint) for joint in ends]

    def __call__(self, sample):
        x = sample["keypoints"]
        a, b = (_joint_position(indices, x) for indices in self.ends)
        lengths = np.linalg.norm(a - b, axis=-1)
        lengths = lengths[np.isfinite(lengths) & (lengths > 0)]
        if len(lengths):
            sample["keypoints"] = (x / np.median(lengths)).astype(np.float32)
        return sample


@TRANSFORMS.register_module()
class MinMaxNormalise:
    """Scale each coordinate axis so that the clip's range on it, over all frames, persons and joints, is [-1, 1]
    (CTR-GCN's N-UCLA feeder, after its camera-view rotation). Axes are scaled separately, so body size and how
    far an action reaches no longer matter; an axis with no spread or no valid value is left as it is."""

    def __call__(self, sample):
        x = sample["keypoints"]
        flat = x.reshape(-1, x.shape[-1])
        with _quiet():
            low, high = np.nanmin(flat, axis=0), np.nanmax(flat, axis=0)
        span = high - low
        usable = np.isfinite(span) & (span > 0)
        scale = np.where(usable, 2 / np.where(usable, span, 1), 1)
        offset = np.where(usable, low, 0)
        sample["keypoints"] = ((x - offset) * scale - usable).astype(np.float32)
        return sample


# -- time -------------------------------------------------------------------------------------------------------
@TRANSFORMS.register_module()
class RandomTemporalCrop(RandomTransform):
    """A random window of ``length`` frames (training); shorter clips are kept whole (pad later if needed)."""

    def __init__(self, length: int, seed: int | None = None):
        super().__init__(seed)
        self.length = length

    def __call__(self, sample):
        t = len(sample["keypoints"])
        if t > self.length:
            start = int(self.rng.integers(0, t - self.length + 1))
            _take_frames(sample, np.arange(start, start + self.length))
        return sample


@TRANSFORMS.register_module()
class UniformSample(RandomTransform):
    """pyskl's UniformSampleFrames: ``length`` frames, one from each of ``length`` equal segments.

    Training draws a random frame in each segment; ``test=True`` takes each segment's middle frame, so test
    inputs are deterministic. Clips shorter than ``length`` are looped from a random (test: first) frame.
    Multi-clip testing (pyskl's ``num_clips``): a sample with ``clip = (k, K)``, set by
    :class:`~posekit.train.datasets.StoreClips`, takes the k-th of K deterministic samplings instead, at
    (2k+1)/2K of each segment (the middle when K is 1), and loops short clips from frame k*t/K."""

    def __init__(self, length: int, test: bool = False, seed: int | None = None):
        super().__init__(seed)
        self.length = length
        self.test = test

    def indices(self, t: int, clip: tuple[int, int] = (0, 1)) -> np.ndarray:
        n = self.length
        k, num_clips = clip
        if t < n:
            start = k * t // num_clips if self.test else int(self.rng.integers(0, t))
            return np.arange(start, start + n) % t
        bounds = np.arange(n + 1) * t // n
        sizes = np.diff(bounds)
        offset = sizes * (2 * k + 1) // (2 * num_clips) if self.test else self.rng.integers(0, sizes)
        return bounds[:-1] + offset

    def __call__(self, sample):
        return _take_frames(sample, self.indices(len(sample["keypoints"]), sample.get("clip", (0, 1))))


@TRANSFORMS.register_module()
class ReplayPad:
    """Pad to ``length`` frames by replaying the clip from its start (UNIK / 2s-AGCN on NTU); longer clips pass."""

    def __init__(self, length: int):
        self.length = length

    def __call__(self, sample):
        t = len(sample["keypoints"])
        if 0 < t < self.length:
            _take_frames(sample, np.arange(self.length) % t)
        return sample


@TRANSFORMS.register_module()
class ResizeTime:
    """Resample to ``length`` frames by linear interpolation between neighbouring frames (float arrays only;
    integer/bool per-frame arrays take the nearest frame)."""

    def __init__(self, length: int):
        self.length = length

    def __call__(self, sample):
        t = len(sample["keypoints"])
        if t == self.length or t == 0:
            return sample
        pos = np.linspace(0, t - 1, self.length)
        lo = np.floor(pos).astype(int)
        hi = np.minimum(lo + 1, t - 1)
        w = (pos - lo).astype(np.float32)
        for key in FRAME_KEYS:
            if key not in sample:
                continue
            v = sample[key]
            if v.dtype.kind != "f":
                sample[key] = v[np.rint(pos).astype(int)]
                continue
            wb = w.reshape((-1,) + (1,) * (v.ndim - 1))
            # where w is 0 the next frame must not count, even when it is NaN
            sample[key] = np.where(wb == 0, v[lo], v[lo] * (1 - wb) + v[hi] * wb).astype(v.dtype)
        return sample


# -- persons ----------------------------------------------------------------------------------------------------
@TRANSFORMS.register_module()
class SelectPersons:
    """Keep the ``num`` main persons, in decreasing order of ``by``; pad with missing persons.

    ``motion``: the sum over joints and coordinates of the temporal standard deviation of valid positions
    (2s-AGCN's choice for NTU); ``valid``: the number of valid joints over the clip; ``score``: the sum of scores."""

    def __init__(self, num: int = 2, by: str = "motion"):
        if by not in ("motion", "valid", "score"):
            raise ValueError("by must be 'motion', 'valid' or 'score'")
        self.num = num
        self.by = by

    def person_scores(self, sample) -> np.ndarray:
        x = sample["keypoints"]  # (T, M, V, C)
        valid = ~np.isnan(x).any(axis=-1)  # (T, M, V)
        if self.by == "valid":
            return valid.sum(axis=(0, 2)).astype(float)
        if self.by == "score":
            return np.nansum(np.where(valid, sample["scores"], 0), axis=(0, 2)).astype(float)
        with _quiet():
            std = np.nanstd(x, axis=0)  # (M, V, C); NaN for a joint never seen
        energy = np.nansum(std, axis=(1, 2))
        return np.where(valid.any(axis=(0, 2)), energy, -1.0)  # absent persons rank last

    def __call__(self, sample):
        order = np.argsort(-self.person_scores(sample), kind="stable")[: self.num]
        return _take_persons(sample, order, self.num)


# -- features ---------------------------------------------------------------------------------------------------
@TRANSFORMS.register_module()
class RemapLayout:
    """Map joints from the store's layout to ``target`` by name, interpolating where the target says how
    (posekit.layouts.mapping); target joints with no source become missing. This is how a model trained on one
    layout reads a store of another: transfer across datasets, prediction on a lab's own files.

    ``target``: a layout name, a layout file, a Layout, its dict or its JSON. Transforms after this one in a
    pipeline built by :func:`build_transforms` get the target layout."""

    def __init__(self, layout: Layout | str, target):
        self.target = as_layout(target)
        self.mapping = mapping(get_layout(layout), self.target)

    def __call__(self, sample):
        for key in ("keypoints", "keypoints_3d", "scores"):
            if sample.get(key) is not None:
                sample[key] = self.mapping.apply(sample[key], axis=2)  # (T, M, V[, C]): joints on axis 2
        return sample


def as_layout(spec) -> Layout:
    """A Layout from a name or file, a Layout, its dict, or its JSON text (as configs carry layouts)."""
    if isinstance(spec, dict):
        return Layout.from_dict(spec)
    if isinstance(spec, str) and spec.lstrip().startswith("{"):
        return Layout.from_json(spec)
    return get_layout(spec)


@TRANSFORMS.register_module()
class JointToBone:
    """Bones: joint minus its parent (layout.parent_index); the root is its own parent, so its bone is zero."""

    def __init__(self, layout: Layout | str):
        self.layout = get_layout(layout)
        self.parents = self.layout.parent_index

    def __call__(self, sample):
        x = sample["keypoints"]
        sample["keypoints"] = x - x[:, :, self.parents]
        return sample


@TRANSFORMS.register_module()
class JointMotion:
    """Motion: x[t+1] - x[t]; the last frame's motion is zero (NaN if that frame's joint is missing)."""

    def __call__(self, sample):
        x = sample["keypoints"]
        motion = np.zeros_like(x)
        motion[:-1] = x[1:] - x[:-1]
        motion[-1][np.isnan(x[-1])] = np.nan
        sample["keypoints"] = motion
        return sample


@TRANSFORMS.register_module()
class BoneMotion:
    """Motion of the bones."""

    def __init__(self, layout: Layout | str):
        self.bone = JointToBone(layout)
        self.motion = JointMotion()

    def __call__(self, sample):
        return self.motion(self.bone(sample))


@TRANSFORMS.register_module()
class Project2D:
    """3D camera-space joints seen as 2D image joints by orthographic projection (depth dropped), so a model
    trained on 2D joints reads a 3D store with its input layer kept (linear evaluation across datasets).

    Defaults are Kinect camera space (x to the sensor's left, y up), whose image view (x right, y down) is
    (-x, -y); ``flip_x`` / ``flip_y`` choose the signs for other cameras."""

    def __init__(self, flip_x: bool = True, flip_y: bool = True):
        self.signs = np.array([-1.0 if flip_x else 1.0, -1.0 if flip_y else 1.0], np.float32)

    def __call__(self, sample):
        x = sample["keypoints"]
        if x.shape[-1] != 3:
            raise InputError(f"Project2D needs 3D joints, got {x.shape[-1]} coordinates per joint")
        sample["keypoints"] = (x[..., :2] * self.signs).astype(np.float32)
        return sample


# -- augmentation -----------------------------------------------------------------------------------------------
@TRANSFORMS.register_module()
class RandomRotation(RandomTransform):
    """Rotate about the origin (centre first): 3D by random angles about x, y and z (R = Rz Ry Rx), 2D in-plane.

    ``angle`` in degrees: a scalar a draws from [-a, a]; a pair (low, high) from that range. ``axes`` (3D): the
    axes rotated about, the others keep angle 0; ``"xy"`` with y vertical simulates other camera views (CTR-GCN's
    N-UCLA augmentation) without tilting the body in the image plane."""

    def __init__(self, angle=10.0, axes: str = "xyz", seed: int | None = None):
        super().__init__(seed)
        self.low, self.high = _range(angle, symmetric=True)
        if not axes or set(axes) - set("xyz"):
            raise ValueError(f"axes must be letters among x, y, z, got {axes!r}")
        self.on = np.array([axis in axes for axis in "xyz"])

    def matrix(self, dims: int) -> np.ndarray:
        if dims == 2:
            a = np.deg2rad(self.rng.uniform(self.low, self.high))
            return np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
        ax, ay, az = np.deg2rad(self.rng.uniform(self.low, self.high, size=3)) * self.on
        rx = np.array([[1, 0, 0], [0, np.cos(ax), -np.sin(ax)], [0, np.sin(ax), np.cos(ax)]])
        ry = np.array([[np.cos(ay), 0, np.sin(ay)], [0, 1, 0], [-np.sin(ay), 0, np.cos(ay)]])
        rz = np.array([[np.cos(az), -np.sin(az), 0], [np.sin(az), np.cos(az), 0], [0, 0, 1]])
        return rz @ ry @ rx

    def __call__(self, sample):
        x = sample["keypoints"]
        dims = min(x.shape[-1], 3)
        out = x.copy()
        out[..., :dims] = x[..., :dims] @ self.matrix(dims).T.astype(np.float32)
        sample["keypoints"] = out
        return sample


@TRANSFORMS.register_module()
class RandomScale(RandomTransform):
    """Scale each axis by its own factor drawn uniformly in ``scale`` (a scalar s: [1-s, 1+s])."""

    def __init__(self, scale=0.1, seed: int | None = None):
        super().__init__(seed)
        self.low, self.high = _range(scale, symmetric=False)

    def __call__(self, sample):
        x = sample["keypoints"]
        sample["keypoints"] = (x * self.rng.uniform(self.low, self.high, size=x.shape[-1])).astype(np.float32)
        return sample


@TRANSFORMS.register_module()
class RandomFlip(RandomTransform):
    """With probability ``p``, mirror x (x -> -x, about the origin: centre or normalise first) and swap the
    layout's left_*/right_* joints so the mirrored body keeps its anatomy."""

    def __init__(self, layout: Layout | str, p: float = 0.5, seed: int | None = None):
        super().__init__(seed)
        self.layout = get_layout(layout)
        self.p = p
        joints = self.layout.joints
        self.order = np.array([joints.index(_mirror(j)) if _mirror(j) in joints else i for i, j in enumerate(joints)])

    def __call__(self, sample):
        if self.rng.random() >= self.p:
            return sample
        for key in ("keypoints", "scores"):
            if key in sample:
                sample[key] = sample[key][:, :, self.order]  # a copy: fancy indexing
        sample["keypoints"][..., 0] *= -1
        return sample


def _mirror(joint: str) -> str:
    for side, other in (("left_", "right_"), ("right_", "left_")):
        if joint.startswith(side):
            return other + joint[len(side) :]
    return joint


# -- output -----------------------------------------------------------------------------------------------------
@TRANSFORMS.register_module(["FormatCTVM", "ToTensor"])  # ToTensor: the step's name in pyskl/mmaction2 pipelines
class FormatCTVM:
    """The model input: NaN -> 0 (UNIK's missing), (T, M, V, C) -> float32 tensor (C, T, V, M).

    ``with_scores=True`` appends the scores as a last channel (x, y, score), as ST-GCN does.
    Keeps ``label``, ``index``, ``id`` and the number of frames ``length``; drops the other numpy fields.
    Idempotent, so a pipeline may end with it or leave it to the dataset."""

    def __init__(self, with_scores: bool = False):
        self.with_scores = with_scores

    def __call__(self, sample):
        x = sample["keypoints"]
        if isinstance(x, torch.Tensor):
            return sample
        if self.with_scores:
            x = np.concatenate([x, sample["scores"][..., None]], axis=-1)
        x = np.array(x.transpose(3, 0, 2, 1), dtype=np.float32, order="C")  # the one copy
        np.putmask(x, np.isnan(x), 0)
        out = {"keypoints": torch.from_numpy(x), "length": x.shape[1]}
        for key in ("label", "index", "id"):
            if key in sample:
                out[key] = sample[key]
        return out


@TRANSFORMS.register_module()
class InterpolateGaps:
    """Missing joints (NaN) filled by linear interpolation over time, held at the ends, per person and joint, as
    ``posekit retarget`` fills a clip: the motion generator reads a missing joint as a coordinate. A joint missing
    in every frame (an absent person) stays missing."""

    def __call__(self, sample):
        x = sample["keypoints"]  # (T, M, V, C)
        missing = np.isnan(x).any(axis=-1)
        gaps = missing.any(axis=0) & ~missing.all(axis=0)  # (M, V): seen in some frames, not all
        if not gaps.any():
            return sample
        x, t = x.copy(), np.arange(len(x))
        for person, joint in zip(*np.nonzero(gaps)):
            seen = ~missing[:, person, joint]
            for c in range(x.shape[-1]):
                x[:, person, joint, c] = np.interp(t, t[seen], x[seen, person, joint, c])
        sample["keypoints"] = x
        return sample


def build_transforms(specs, layout: Layout | str | None = None) -> Compose:
    """A Compose from config dicts like ``{"type": "RandomTemporalCrop", "length": 150}``.

    ``layout`` fills the ``layout`` argument of the transforms that need one and were not given one."""
    transforms = []
    for spec in specs:
        spec = dict(spec)
        name = spec.pop("type", None)
        if name not in TRANSFORMS.module_dict:  # posekit's transforms only, not those of mmengine's root
            raise InputError(f"unknown transform {name!r}; known: {', '.join(TRANSFORMS.module_dict)}")
        cls = TRANSFORMS.get(name)
        if "layout" in inspect.signature(cls).parameters and "layout" not in spec:
            if layout is None:
                raise InputError(f"transform {name!r} needs a layout")
            spec["layout"] = layout
        try:
            transforms.append(cls(**spec))
        except TypeError as e:
            raise InputError(f"transform {name!r}: {e}") from None
        if isinstance(transforms[-1], RemapLayout):
            layout = transforms[-1].target  # the joints from here on are the target's
    return Compose(transforms)
