"""``posekit synth views``: every motion of a 3D store on several random bodies, seen from several camera views.

Each source clip is one motion. A body is one set of bone scales (:func:`~posekit.synth.views.random_body_scales`)
relative to a reference skeleton, the per-bone median length over the chosen clips: each clip is first brought to
the reference lengths (its own per-bone median lengths over its frames), then scaled, so body ``b`` has the same
proportions whoever performed the motion. The root's path is scaled by the body's mean bone scale, so a bigger body
walks further. Every (motion, body, view) render becomes one 2D clip; ``/features/motion_id``, ``body_id`` and
``view_id`` say which renders share a motion, a body or a view, so any two renders (A, B) have a third one as the
ground truth of "A's motion performed by B's body seen from B's view".
"""

from __future__ import annotations

import itertools
import warnings
from pathlib import Path

import numpy as np

from ..progress import progress_bar
from ..store import Clip, SkeletonStore, StoreError, StoreWriter
from . import THESIS_YAWS
from .views import bone_lengths, project, random_body_scales, retarget_bones


def joints_3d(store: SkeletonStore, index: int) -> np.ndarray:
    """(T, M, V, 3) 3D joints of a clip: its keypoints in a 3D store, else its ``keypoints_3d``."""
    field = "keypoints" if store.coord_dims == 3 else "keypoints_3d"
    joints = store.frames(index, (field,)).get(field)
    if joints is None:
        raise StoreError(f"{store.path}: needs 3D joints (a 3D store, or keypoints_3d beside 2D ones)")
    return joints.astype(np.float64)


def clip_bone_lengths(joints: np.ndarray, layout) -> np.ndarray:
    """(V,) median length of each bone over a clip's frames and persons (NaN where never seen)."""
    return _nan_reduce(np.nanmedian, bone_lengths(joints, layout).reshape(-1, layout.num_joints))


def reference_lengths(store: SkeletonStore, indices) -> np.ndarray:
    """(V,) the reference skeleton: the median over clips of each clip's median bone length."""
    return _nan_reduce(np.nanmedian, np.array([clip_bone_lengths(joints_3d(store, i), store.layout) for i in indices]))


def _nan_reduce(reduce, values: np.ndarray, axis: int = 0) -> np.ndarray:
    """``reduce`` (np.nanmean, np.nanmedian) along ``axis``, NaN where nothing was seen, without numpy's warning."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return reduce(values, axis=axis)


def render(
    joints: np.ndarray, layout, scales: np.ndarray, reference: np.ndarray, yaw: float, pitch: float
) -> np.ndarray:
    """One render (T, M, V, 2) of a clip's 3D joints (T, M, V, 3) on the body ``scales`` (relative to
    ``reference``), turned by ``yaw``/``pitch`` about the body centre of the first frame."""
    own = clip_bone_lengths(joints, layout)
    with np.errstate(all="ignore"):
        to_reference = np.where(own > 1e-9, reference / own, 1.0)
    body = retarget_bones(joints, layout, scales * np.nan_to_num(to_reference, nan=1.0))
    centre = layout.index(layout.centre) if layout.centre else 0
    roots = _nan_reduce(np.nanmean, joints[:, :, centre], axis=1)  # (T, 3) centre of the persons in each frame
    seen = np.flatnonzero(~np.isnan(roots).any(-1))
    start = roots[seen[0]] if len(seen) else np.zeros(3)
    moves = np.nan_to_num(roots - start)  # a frame whose centre is missing does not move the body
    bones = [j for j in range(layout.num_joints) if layout.parent_index[j] != j]
    body += (scales[bones].mean() - 1.0) * moves[:, None, None, :]
    return project(body, yaw, pitch, pivot=start).astype(np.float32)


def synth_views(
    source,
    output,
    *,
    bodies: int = 4,
    yaws=THESIS_YAWS,
    pitches=(0.0,),
    scale_range=(0.75, 1.25),
    split: str | None = None,
    seed: int = 0,
    progress: bool = True,
) -> dict:
    """Write ``output``: every clip of ``source`` (or of one split) x ``bodies`` x (yaw, pitch) views, in 2D."""
    low, high = scale_range
    if not 0 < low <= high:
        raise StoreError(f"{source}: --scale-range needs 0 < LO <= HI, got {low} {high}")
    if bodies < 1 or not yaws or not pitches:
        raise StoreError(f"{source}: needs at least one body, one yaw and one pitch")
    with SkeletonStore(source) as store:
        layout = store.layout
        if not layout.parents:
            raise StoreError(f"{source}: layout {layout.name!r} has no bone tree; retargeting needs one")
        indices = store.split(split)
        if not len(indices):
            raise StoreError(f"{source}: no clips to render" + (f" in split {split!r}" if split else ""))
        rng = np.random.default_rng(seed)
        body_scales = np.stack([random_body_scales(layout, rng, low, high) for _ in range(bodies)])
        views = list(itertools.product(yaws, pitches))
        reference = reference_lengths(store, indices)
        steps = dict(
            step="synth-views",
            source=str(source),
            split=split,
            bodies=bodies,
            yaws=list(yaws),
            pitches=list(pitches),
            scale_range=[low, high],
            seed=seed,
            projection="orthographic",
            reference_lengths=np.round(np.nan_to_num(reference), 5).tolist(),
        )
        ids, fps = store.ids, store.column("fps")
        with StoreWriter(
            output,
            layout=layout,
            coord_dims=2,
            classes=store.classes,
            class_descriptions=store.class_descriptions,
            coordinates="metric",
            name=Path(output).stem,
            provenance=steps,
        ) as writer:
            for motion, index in enumerate(
                progress_bar(indices, desc="synth views", unit="motion", show=progress, leave=False)
            ):
                clip = store[int(index)]
                joints = joints_3d(store, int(index))
                for body, (view, (yaw, pitch)) in itertools.product(range(bodies), enumerate(views)):
                    keypoints = render(joints, layout, body_scales[body], reference, yaw, pitch)
                    if np.isnan(keypoints).all():
                        continue  # a clip with no valid joint cannot be rendered (the writer refuses it)
                    writer.add(
                        Clip(
                            id=f"{ids[index]}_b{body}_v{view}",
                            keypoints=keypoints,
                            frame_index=clip.frame_index,
                            label=clip.label,
                            fps=float(fps[index]),
                            image_size=(0, 0),
                            source=str(ids[index]),
                            text=clip.text,
                            splits=clip.splits,
                            features=dict(
                                motion_id=[motion],
                                body_id=[body],
                                view_id=[view],
                                body_scales=body_scales[body],
                                view_angles=[yaw, pitch],
                            ),
                        )
                    )
            clips = len(writer)
    return {"motions": len(indices), "bodies": bodies, "views": len(views), "clips": clips, "output": str(output)}
