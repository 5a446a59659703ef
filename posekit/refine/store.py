"""``posekit refine``: SST-A per tracked person of every video of a proposals store -> a refined store.

For each video the experts' clips are aligned by track id into (P, E, T, V, 2) and fused by
:func:`pose_refine.tracks.refine_video` (:func:`pose_refine.sst_aggregate_batch` in blocks of tracks). The refined
store has one clip per video (id = the video id), one person slot per kept track (the main tracks first), the fused
joints as keypoints and, as /frames/scores, the SST-A frame confidence C broadcast over the person's fused joints
(docs/refine.md).
"""

from __future__ import annotations

import json
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path

import h5py
import numpy as np

from pose_refine import GAMMA
from pose_refine.report import QualityReport
from pose_refine.tracks import refine_video

from ..errors import InputError
from ..layouts import Layout, mapping
from ..outputs import check_file_path
from ..store import Clip, SkeletonStore, StoreWriter
from ..store.format import provenance_step
from .proposals import VideoProposals, expert_order, group_videos, load_video
from .report import write_report


def refine_store(
    proposals,
    output,
    *,
    gamma: float = GAMMA,
    max_persons: int | None = None,
    drop_low: bool = False,
    report_dir=None,
    progress: bool = True,
) -> dict:
    """Fuse every video of ``proposals`` into ``output``; write the quality report to ``report_dir`` if given."""
    from ..progress import progress_bar

    store = SkeletonStore(proposals)
    head, neck = _head_and_neck(store)
    videos = group_videos(store)
    experts = expert_order(store, videos)
    if len(experts) < 2:
        raise InputError(
            f"{store.path}: {len(experts)} expert ({', '.join(experts) or 'none'}); SST-A needs the "
            f"proposals of at least 2 experts"
        )
    if not 0 <= gamma <= 1:
        raise InputError(f"--gamma must be between 0 and 1 (C is in (0, 1]), got {gamma}")
    if max_persons is not None and max_persons < 1:
        raise InputError(f"--max-persons must be at least 1, got {max_persons}")
    if report_dir is not None and Path(report_dir).exists() and not Path(report_dir).is_dir():
        raise InputError(f"{report_dir}: is a file; --report needs a folder for report.json and the figures")
    output = Path(output)
    if output.resolve() == store.path.resolve():
        raise InputError(f"{output}: the refined store must be a new file, not the proposals store")
    check_file_path(output, InputError)
    report = QualityReport(experts, gamma)
    step = {
        "step": "refine",
        "method": "SST-A",
        "gamma": gamma,
        "experts": experts,
        "max_persons": max_persons,
        "drop_low": drop_low,
        "proposals": str(proposals),
    }
    columns = {name: store.column(name) for name in ("fps", "image_size", "source", "text")}
    with _staging(output) as staged:
        with StoreWriter(
            staged,
            store.layout,
            coord_dims=2,
            classes=store.classes,
            class_descriptions=store.class_descriptions,
            name=store.name,
            allow_empty=True,
        ) as writer:
            for video_id, clips in progress_bar(
                videos.items(), desc="refine", unit="video", show=progress, leave=False
            ):
                video = load_video(store, video_id, clips, experts)
                tracks, fused, confidence = refine_video(video.poses, head=head, neck=neck, max_persons=max_persons)
                report.add(video.video_id, video.experts, video.poses, tracks, fused, confidence, head=head, neck=neck)
                writer.add(
                    _refined_clip(
                        video,
                        _clip_fields(store, columns, video.first_clip),
                        tracks,
                        fused,
                        confidence,
                        gamma if drop_low else None,
                    )
                )
        step["kept_fraction"] = report.overall()["kept_fraction"]
        with h5py.File(staged, "r+") as f:  # the proposals' history, then this step
            f.attrs["provenance"] = json.dumps(store.provenance + [provenance_step(**step)])
        if report_dir is not None:
            write_report(report, report_dir, proposals=proposals, refined=output)
        os.replace(staged, output)
    store.close()
    return {
        "output": str(output),
        "videos": len(videos),
        "experts": experts,
        "report": report.overall(),
        "report_dir": None if report_dir is None else str(report_dir),
    }


@contextmanager
def _staging(output: Path):
    """Where to build ``output`` before it replaces ``output``: in a private folder ``.NAME.XXXXXXXX.tmp`` beside it,
    removed when the block ends. The StoreWriter makes its own temporary beside the path it is given: beside a
    temporary file that was ``..NAME.*.tmp.*.tmp``, which a killed run left with its empty ``.NAME.*.tmp``; now a
    killed run leaves the one folder, which the next ``posekit refine`` on the output removes (posekit.locks)."""
    try:
        staging = tempfile.TemporaryDirectory(prefix=f".{output.name}.", suffix=".tmp", dir=output.parent)
    except OSError as e:
        raise InputError(f"{output}: cannot write here ({e.strerror})") from None
    with staging as folder:
        yield Path(folder) / output.name


def _clip_fields(store: SkeletonStore, columns: dict, index: int) -> dict:
    """What the refined clip copies from the video's first expert clip (all experts share it)."""
    return {
        "label": int(store.labels[index]),
        "fps": float(columns["fps"][index]),
        "image_size": tuple(int(v) for v in columns["image_size"][index]),
        "source": columns["source"][index],
        "text": columns["text"][index],
        "splits": tuple(name for name, members in store.splits.items() if index in members),
    }


def _refined_clip(video: VideoProposals, fields: dict, tracks, fused, confidence, drop_below: float | None) -> Clip:
    """The refined clip: persons = tracks; scores = C on the fused joints; box = extent of the fused joints."""
    fused = fused.transpose(1, 0, 2, 3).copy()  # (T, P, V, 2)
    confidence = confidence.T.copy()  # (T, P)
    if drop_below is not None:  # C < gamma, or unscored (no fused head or neck): written as missing
        fused[~(confidence >= drop_below)] = np.nan
        confidence[~(confidence >= drop_below)] = np.nan
    joint = ~np.isnan(fused[..., 0])
    person = joint.any(axis=-1)
    scores = np.where(joint, confidence[..., None], np.nan)
    box = np.concatenate([np.fmin.reduce(fused, axis=2), np.fmax.reduce(fused, axis=2)], axis=-1)
    track_id = np.where(person, video.track_ids[tracks].astype(np.int32), -1).astype(np.int32)
    return Clip(
        id=video.video_id,
        keypoints=fused,
        scores=scores,
        track_id=track_id,
        frame_index=video.frame_index,
        box=box,
        **fields,
    )


def _head_and_neck(store: SkeletonStore) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """The joints whose fused positions (their mean, for a derived joint) are SST-A's head and neck: the layout's
    ``head`` and ``neck``, else joints named head and neck, else the layout's ``derived`` rules for them (COCO's
    neck: the mean of the shoulders), resolved as a conversion between layouts resolves them."""
    layout = store.layout
    if store.coord_dims != 2:
        raise InputError(f"{store.path}: SST-A fuses 2D poses; this store has {store.coord_dims}D keypoints")
    wanted = (layout.head or "head", layout.neck or "neck")
    head, neck = (mapping(layout, Layout(name=f"sst-a-{name}", joints=(name,))).sources[0] for name in wanted)
    if not head or not neck:
        missing = " and ".join(name for name, joints in zip(wanted, (head, neck)) if not joints)
        raise InputError(
            f"{store.path}: layout {layout.name!r} names no head and neck joint and derives no {missing}; SST-A's "
            f"confidence needs both (set 'head' and 'neck' in the layout, or 'derived' rules that give them)"
        )
    return head, neck
