"""Retargeting and composing clips with a trained motion generator (thesis ch. 4): ``posekit retarget`` (the
Motion of one clip with the Static, body and view, of another) and ``posekit compose`` (eq. 4.5: the mean Motion of
two clips with the first one's Static).

A clip is read as its first person's 2D joints, in the model's layout. Missing joints are filled by linear
interpolation over time (held at the ends); a joint missing in every frame stops with one line. The network reads a
multiple of 8 frames (at least 16): a clip is padded by repeating its last frame and the result cropped back. The
network's root path starts at 0, so the result is moved to where the clip whose Static it takes starts. The output
store holds the inputs as read (missing joints stay missing) and the result as separate clips, for ``posekit show``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from . import checkpoints
from .clip_refs import clip_index, parse_ref
from .errors import InputError, PosekitError
from .layouts import Layout
from .nets.motion_generator import MotionGenerator
from .store import Clip, SkeletonStore, StoreWriter

STRIDE, MIN_FRAMES = 8, 16  # the encoder halves time three times; its padded convolutions need 16 frames


@dataclass
class SourceClip:
    """One input clip: where it comes from and its first person's joints (T, V, 2), NaN where missing."""

    ref: str  # STORE:ID
    joints: np.ndarray
    fps: float
    image_size: tuple[int, int]
    coordinates: str


def load_generator(checkpoint, *, trust: bool = False) -> tuple[MotionGenerator, Layout]:
    """The trained network of a ``posekit train motion-generator`` checkpoint (eval mode, CPU) and its layout."""
    state = checkpoints.load(checkpoint, trust=trust)
    cfg = checkpoints.training_config(state, checkpoint, trust=trust)
    model_type = (cfg.get("model") or {}).get("type")
    if model_type != "RetargetingModel" or cfg.get("trained_on") is None:
        raise PosekitError(
            f"{checkpoint}: not a motion generator checkpoint (model {model_type!r}); "
            f"train one with posekit train motion-generator"
        )
    net = MotionGenerator(**{k: v for k, v in cfg.model.net.items() if k != "type"})
    weights = state.get("state_dict", state)
    net.load_state_dict({k.removeprefix("net."): v for k, v in weights.items() if k.startswith("net.")})
    return net.eval(), Layout.from_json(cfg.trained_on["layout"])


def read_clip(text: str, layout: Layout) -> SourceClip:
    """The clip ``STORE:CLIP`` refers to, checked against the model's layout."""
    path, clip = parse_ref(text)
    with SkeletonStore(path) as store:
        if store.coord_dims != 2:
            raise InputError(
                f"{path}: {store.coord_dims}D keypoints; the generator reads 2D clips (posekit synth "
                f"views renders 3D ones)"
            )
        if store.layout.joints != layout.joints:
            raise InputError(
                f"{path}: layout {store.layout.name!r} ({store.layout.num_joints} joints), the model's "
                f"is {layout.name!r} ({layout.num_joints}); convert the store with --layout {layout.name}"
            )
        index = clip_index(store, clip)
        joints = store.frames(index, ("keypoints",))["keypoints"][:, 0].astype(np.float64)
        return SourceClip(
            ref=f"{path}:{store.ids[index]}",
            joints=joints,
            fps=float(store.column("fps")[index]),
            image_size=tuple(int(v) for v in store.column("image_size")[index]),
            coordinates=store.coordinates,
        )


def fill_missing(clip: SourceClip, layout: Layout) -> tuple[np.ndarray, int]:
    """The clip's joints with missing ones linearly interpolated over time, and how many joint positions were
    filled; a joint missing in every frame cannot be filled."""
    joints = clip.joints.copy()
    t = np.arange(len(joints))
    missing = np.isnan(joints).any(axis=-1)  # (T, V)
    for j in np.flatnonzero(missing.any(axis=0)):
        seen = ~missing[:, j]
        if not seen.any():
            raise InputError(
                f"{clip.ref}: joint {layout.joints[j]!r} is missing in every frame; the generator "
                f"needs every joint at least once"
            )
        for c in range(joints.shape[-1]):
            joints[:, j, c] = np.interp(t, t[seen], joints[seen, j, c])
    return joints, int(missing.sum())


def padded_length(frames: int) -> int:
    """The network's length for ``frames``: the next multiple of 8, at least 16."""
    return max(MIN_FRAMES, math.ceil(frames / STRIDE) * STRIDE)


def features(net: MotionGenerator, joints: np.ndarray, length: int) -> torch.Tensor:
    """(1, C, length) network input of (T, V, 2) joints padded to ``length`` by repeating the last frame."""
    padded = np.concatenate([joints, np.repeat(joints[-1:], length - len(joints), axis=0)])
    return net.to_features(torch.from_numpy(padded).float()[None])


def retarget(checkpoint, motion: str, like: str, output, *, trust: bool = False) -> dict:
    """Write ``output``: clips ``motion``, ``like`` and ``result``, MOTION's motion on LIKE's body and view."""
    net, layout = load_generator(checkpoint, trust=trust)
    clips = {"motion": read_clip(motion, layout), "like": read_clip(like, layout)}
    filled = {role: fill_missing(clip, layout) for role, clip in clips.items()}
    (a, _), (b, _) = filled["motion"], filled["like"]
    with torch.no_grad():
        code = net.retarget(features(net, a, padded_length(len(a))), features(net, b, padded_length(len(b))))
        result = net.to_joints(code)[0, : len(a)].double().numpy()
    step = dict(step="retarget", checkpoint=str(checkpoint), motion=clips["motion"].ref, like=clips["like"].ref)
    return _write(output, layout, clips, filled, result + b[0, net.root], placed_like="like", step=step)


def compose(checkpoint, first: str, second: str, output, *, trust: bool = False) -> dict:
    """Write ``output``: clips ``a``, ``b`` and ``result``, the mean Motion of A and B with A's Static (eq. 4.5);
    the shorter clip is padded to the longer one by repeating its last frame."""
    net, layout = load_generator(checkpoint, trust=trust)
    clips = {"a": read_clip(first, layout), "b": read_clip(second, layout)}
    filled = {role: fill_missing(clip, layout) for role, clip in clips.items()}
    (a, _), (b, _) = filled["a"], filled["b"]
    frames = max(len(a), len(b))
    with torch.no_grad():
        code = net.compose(features(net, a, padded_length(frames)), features(net, b, padded_length(frames)))
        result = net.to_joints(code)[0, :frames].double().numpy()
    step = dict(step="compose", checkpoint=str(checkpoint), a=clips["a"].ref, b=clips["b"].ref, equation="4.5")
    return _write(output, layout, clips, filled, result + a[0, net.root], placed_like="a", step=step)


def _write(output, layout, clips: dict, filled: dict, result: np.ndarray, *, placed_like: str, step: dict) -> dict:
    """The inputs as read and the result, one clip each; the provenance records the operation."""
    counts = {role: count for role, (_, count) in filled.items()}
    static = clips[placed_like]
    step.update(
        frames=len(result),
        padded_to=padded_length(len(result)),
        filled_joint_positions=counts,
        placed_at=f"the root of {placed_like!r} in its first frame",
    )
    with StoreWriter(
        output, layout=layout, coord_dims=2, coordinates=static.coordinates, name=Path(output).stem, provenance=step
    ) as writer:
        for role, clip in clips.items():
            writer.add(
                Clip(
                    id=role,
                    keypoints=clip.joints[:, None].astype(np.float32),
                    fps=clip.fps,
                    image_size=clip.image_size,
                    source=clip.ref,
                )
            )
        writer.add(
            Clip(
                id="result",
                keypoints=result[:, None].astype(np.float32),
                fps=clips[next(iter(clips))].fps,
                image_size=static.image_size,
                source=f"{step['step']} of " + " and ".join(clip.ref for clip in clips.values()),
            )
        )
    return {
        "output": str(output),
        "clips": [*clips, "result"],
        "frames": len(result),
        "filled": counts,
        "refs": {role: clip.ref for role, clip in clips.items()},
    }
