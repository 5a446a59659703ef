"""Export a store to a pyskl / mmaction2 annotation pickle (``PoseDataset``'s ``ann_file``).

Person-major arrays per clip: ``keypoint`` (M, T, V, C) and ``keypoint_score`` (M, T, V) float32, with a missing
joint written as zeros and score 0, as pyskl expects. M is the number of person slots the clip uses (at least
one). A store without confidences gets score 1 for every present joint. Extra keys ``classes``, ``layout``,
``coordinates``, ``class_descriptions`` and ``class_features`` ({name: (K, D)}), and per annotation ``captions``
(a list, for a clip with captions) and ``features`` ({name: (D,)}, the clip's non-NaN rows), let posekit read the
pickle back as it was; pyskl and mmaction2 ignore them.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np

from ..registry import EXPORTERS
from ..store import SkeletonStore, StoreError, atomic_path


@EXPORTERS.register_module("pyskl")
def export_pyskl(store_path, out_path, split_names=None) -> int:
    """Write ``store_path`` as a pyskl pickle at ``out_path``; ``split_names`` picks the splits (default all).

    Returns the number of clips written."""
    out_path = Path(out_path)
    with SkeletonStore(store_path) as store:
        unknown = sorted(set(split_names or ()) - set(store.splits))
        if unknown:
            raise StoreError(
                f"{store.path}: no split {', '.join(map(repr, unknown))}; splits: {', '.join(store.splits) or 'none'}"
            )
        ids = store.ids
        split = {
            name: ids[idx].tolist() for name, idx in store.splits.items() if split_names is None or name in split_names
        }
        sizes = store.column("image_size")
        annotations = [_annotation(store, i, ids[i], sizes[i]) for i in range(len(store))]
        _add_text(store, annotations)
        data = {
            "split": split,
            "annotations": annotations,
            "classes": list(store.classes),
            "class_descriptions": list(store.class_descriptions),
            "class_features": {name: store.class_feature(name) for name in store.class_feature_names},
            "layout": store.layout.to_dict(),
            "coordinates": store.coordinates,
        }
    with atomic_path(out_path) as tmp:
        with open(tmp, "wb") as f:
            pickle.dump(data, f, protocol=4)  # readable by the Python 3.7 / 3.8 that pyskl pins
    return len(data["annotations"])


def _annotation(store: SkeletonStore, index: int, clip_id: str, image_size) -> dict:
    frames = store.frames(index, ("keypoints", "scores"))
    keypoints = frames["keypoints"].transpose(1, 0, 2, 3)  # (M, T, V, C)
    present = ~np.isnan(keypoints).any(axis=-1)
    scores = frames["scores"].transpose(1, 0, 2) if "scores" in frames else np.ones(present.shape, np.float32)
    scores = np.where(np.isnan(scores), 1.0, scores)
    used = present.any(axis=(1, 2))
    persons = int(np.flatnonzero(used).max()) + 1 if used.any() else 1  # trailing empty slots dropped
    width, height = (int(v) for v in image_size)
    return {
        "frame_dir": str(clip_id),
        "total_frames": int(keypoints.shape[1]),
        "img_shape": (height, width),
        "original_shape": (height, width),
        "label": int(store.labels[index]),
        "keypoint": np.where(present[..., None], keypoints, 0).astype(np.float32)[:persons],
        "keypoint_score": np.where(present, scores, 0).astype(np.float32)[:persons],
    }


def _add_text(store: SkeletonStore, annotations: list[dict]) -> None:
    """Each clip's captions and feature rows into its annotation, where it has any."""
    features = {name: store.feature(name) for name in store.feature_names}
    for index, (annotation, captions) in enumerate(zip(annotations, store.captions())):
        if captions:
            annotation["captions"] = captions
        rows = {name: rows[index] for name, rows in features.items() if not np.isnan(rows[index]).all()}
        if rows:
            annotation["features"] = rows
