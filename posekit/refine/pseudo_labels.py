"""The pseudo-label files of a refined store (``posekit refine``): its person-frames with SST-A confidence
C >= gamma, boxed, normalised and classed by pose_refine.pseudo_labels (thesis ch. 3.3.3), with their frames.

Export: a COCO keypoint JSON (``pseudo_labels.json``) and the frames as JPEG files (``images/``), read
frame-exactly from each clip's source video, or from an image folder ``IMAGES/CLIP_ID/FRAME_INDEX.jpg``
(FRAME_INDEX zero-padded to 6 digits; ``.png`` accepted). Extra fields beside the COCO ones: per annotation
``anchor_class`` (0..k-1), ``confidence`` (C), ``track_id``, ``frame_index``; per image ``clip_id`` and
``frame_index``; at the top ``anchors`` (the k normalised anchor poses, (k, V, 2)) and ``pseudo_labels`` (gamma,
the store, the margin). The folder is written under a temporary name and renamed when complete.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pose_refine import GAMMA
from pose_refine.pseudo_labels import BOX_MARGIN, assign_anchors, fit_anchors, normalise_poses, select_confident

from ..errors import InputError
from ..store import SkeletonStore

LABELS_FILE = "pseudo_labels.json"
IMAGES_DIR = "images"


@dataclass
class PseudoLabels:
    """The kept person-frames of a refined store: where they are and what they are."""

    clip: np.ndarray  # (N,) clip index
    frame: np.ndarray  # (N,) row of the frame within its clip
    frame_index: np.ndarray  # (N,) index of the frame in the source video
    track_id: np.ndarray  # (N,)
    pose: np.ndarray  # (N, V, 2) pixels, NaN = missing
    confidence: np.ndarray  # (N,) SST-A C
    box: np.ndarray  # (N, 4) x1 y1 x2 y2
    anchor_class: np.ndarray | None = None  # (N,)


def select(store: SkeletonStore, gamma: float) -> PseudoLabels:
    """Person-frames with SST-A confidence C >= gamma and a pose box of positive width and height."""
    if store.coordinates != "pixel" or store.coord_dims != 2:
        raise InputError(
            f"{store.path}: pseudo labels need 2D pixel keypoints (a refined store), got "
            f"{store.coord_dims}D {store.coordinates}"
        )
    if "scores" not in store.frame_fields:
        raise InputError(f"{store.path}: no /frames/scores; pseudo labels need the SST-A confidence of a refined store")
    parts = {name: [] for name in PseudoLabels.__dataclass_fields__ if name != "anchor_class"}
    image_sizes = store.column("image_size")
    for clip in range(len(store)):
        arrays = store.frames(clip, ("keypoints", "scores", "track_id", "frame_index"))
        keypoints = arrays["keypoints"]
        frames, persons, confidence, box = select_confident(
            keypoints, arrays["scores"], gamma=gamma, image_size=image_sizes[clip]
        )
        frame_index = arrays.get("frame_index", np.arange(len(keypoints)))
        track_id = arrays.get("track_id", np.broadcast_to(np.arange(keypoints.shape[1]), keypoints.shape[:2]))
        parts["clip"].append(np.full(len(frames), clip))
        parts["frame"].append(frames)
        parts["frame_index"].append(np.asarray(frame_index)[frames])
        parts["track_id"].append(np.asarray(track_id)[frames, persons])
        parts["pose"].append(keypoints[frames, persons].astype(float))
        parts["confidence"].append(confidence.astype(float))
        parts["box"].append(box)
    return PseudoLabels(**{name: np.concatenate(values) for name, values in parts.items()})


def export_coco(
    refined_store, out_dir, *, gamma: float = GAMMA, anchors: int = 20, images=None, seed: int = 0, quality: int = 95
) -> dict:
    """Write OUT_DIR/pseudo_labels.json (COCO keypoints + anchor classes) and OUT_DIR/images/; returns a summary."""
    from ..progress import progress_bar

    out_dir = Path(out_dir)
    if out_dir.exists():
        raise InputError(f"{out_dir}: exists; choose a new folder for the pseudo labels")
    with SkeletonStore(refined_store) as store:
        labels = select(store, gamma)
        if not len(labels.clip):
            raise InputError(f"{store.path}: no person-frame has SST-A confidence >= gamma = {gamma}")
        normalised = normalise_poses(labels.pose, labels.box)
        anchor_poses = fit_anchors(normalised, anchors, seed=seed)
        labels.anchor_class = assign_anchors(normalised, anchor_poses)
        sources, ids, layout = store.column("source"), store.ids, store.layout
        tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", suffix=".tmp", dir=_parent(out_dir)))
        try:
            image_table = {}
            wanted = np.unique(np.stack([labels.clip, labels.frame_index], axis=1), axis=0)
            progress = progress_bar(total=len(wanted), desc="pseudo-label frames", unit="frame")
            for clip in np.unique(wanted[:, 0]):
                indices = wanted[wanted[:, 0] == clip, 1]
                frames = (
                    _folder_frames(Path(images) / ids[clip], indices)
                    if images is not None
                    else read_video_frames(sources[clip], indices)
                )
                for frame_index, image in frames:
                    name = f"{IMAGES_DIR}/{clip:06d}/{frame_index:06d}.jpg"
                    _write_jpeg(tmp / name, image, quality)
                    image_table[clip, frame_index] = dict(
                        id=len(image_table) + 1,
                        file_name=name,
                        width=int(image.shape[1]),
                        height=int(image.shape[0]),
                        clip_id=str(ids[clip]),
                        frame_index=int(frame_index),
                    )
                    progress.update()
            progress.close()
            coco = _coco(labels, image_table, layout, anchor_poses, gamma, store.path)
            (tmp / LABELS_FILE).write_text(json.dumps(coco))
            os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp makes the folder private; give it the usual mode
            os.rename(tmp, out_dir)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    counts = np.bincount(labels.anchor_class, minlength=anchors)
    return {
        "labels": str(out_dir / LABELS_FILE),
        "images": len(image_table),
        "annotations": len(labels.clip),
        "anchors": anchors,
        "anchor_counts": counts.tolist(),
        "gamma": gamma,
    }


def _coco(labels: PseudoLabels, image_table: dict, layout, anchor_poses, gamma, store_path) -> dict:
    annotations = []
    for n in range(len(labels.clip)):
        pose = labels.pose[n]
        present = ~np.isnan(pose).any(axis=1)
        keypoints = np.concatenate([np.nan_to_num(pose), 2.0 * present[:, None]], axis=1)  # v=2: labelled
        x1, y1, x2, y2 = (float(v) for v in labels.box[n])
        annotations.append(
            dict(
                id=n + 1,
                image_id=image_table[labels.clip[n], labels.frame_index[n]]["id"],
                category_id=1,
                bbox=[x1, y1, x2 - x1, y2 - y1],
                area=(x2 - x1) * (y2 - y1),
                iscrowd=0,
                num_keypoints=int(present.sum()),
                keypoints=[round(float(v), 3) for v in keypoints.ravel()],
                anchor_class=int(labels.anchor_class[n]),
                confidence=float(labels.confidence[n]),
                track_id=int(labels.track_id[n]),
                frame_index=int(labels.frame_index[n]),
            )
        )
    skeleton = [[child + 1, parent + 1] for child, parent in layout.bones]
    return dict(
        info=dict(description="posekit SSTA-PRS pseudo ground truth (SST-A poses with C >= gamma)"),
        images=sorted(image_table.values(), key=lambda image: image["id"]),
        annotations=annotations,
        categories=[
            dict(id=1, name="person", supercategory="person", keypoints=list(layout.joints), skeleton=skeleton)
        ],
        anchors=np.round(anchor_poses, 5).tolist(),
        pseudo_labels=dict(
            gamma=gamma,
            store=str(store_path),
            layout=layout.name,
            box_margin=BOX_MARGIN,
            normalisation="joints - box top-left corner, / longer box side",
        ),
    )


def read_video_frames(video, indices):
    """Yield (frame_index, BGR image) for the ``indices`` of a video, in ascending order; a video that ends before
    the last index asked for is an error."""
    from ..video import VideoReader

    wanted = sorted({int(i) for i in indices})
    delivered = 0
    with VideoReader(video) as reader:
        for index, image in reader.read(wanted):
            delivered += 1
            yield index, image
    if delivered < len(wanted):
        raise InputError(f"{video}: ends before frame {wanted[delivered]}")


def _folder_frames(folder: Path, indices):
    import cv2

    for index in indices:
        path = next((p for p in (folder / f"{index:06d}.jpg", folder / f"{index:06d}.png") if p.is_file()), None)
        if path is None:
            raise InputError(f"{folder}: no image {index:06d}.jpg or .png for frame {index}")
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if image is None:
            raise InputError(f"{path}: not a readable image")
        yield int(index), image


def _write_jpeg(path: Path, image, quality: int) -> None:
    import cv2

    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), image, [cv2.IMWRITE_JPEG_QUALITY, quality]):
        raise InputError(f"{path}: cannot write the image")


def _parent(path: Path) -> Path:
    if not path.parent.is_dir():
        raise InputError(f"{path}: folder {path.parent} does not exist")
    return path.parent


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
