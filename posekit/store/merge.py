"""``posekit store merge``: the clips of B appended to a copy of A, classes matched by name."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .format import StoreError
from .reader import SkeletonStore
from .writer import StoreWriter


def merge(a, b, output, *, progress: bool = True) -> dict:
    """Write ``output`` = A followed by B. Layouts and coordinate dimensions must agree; classes are united by
    name (B's labels re-indexed, B's description kept where A's class has none); clip ids must be unique across
    both. Captions and per-clip features come with the clips; per-class features keep A's rows and take B's for
    the classes A lacks or has no row for; arrays made by different encoders are refused. A and B are only read,
    and refused when they fail the structural checks (the reader's). The output allows empty clips if either input did.
    The output's datasets are copied from A's file with their filters: a store written before chunk checksums
    keeps its unchecked datasets; arrays the merge creates carry checksums."""
    first, second = SkeletonStore(a), SkeletonStore(b)
    if first.layout.joints != second.layout.joints:
        raise StoreError(
            f"{b}: layout {second.layout.name!r} differs from {a}'s {first.layout.name!r}; "
            f"convert one of them with --layout first"
        )
    if first.coord_dims != second.coord_dims or first.coordinates != second.coordinates:
        raise StoreError(
            f"{b}: {second.coord_dims}D {second.coordinates} coordinates, {a} has "
            f"{first.coord_dims}D {first.coordinates}"
        )
    clash = np.intersect1d(first.ids, second.ids)
    if len(clash):
        raise StoreError(f"{b}: {len(clash)} clip ids also in {a} (e.g. {clash[0]!r}); clip ids must be unique")
    _check_encoders(first, second)
    if Path(output).resolve() in (first.path.resolve(), second.path.resolve()):
        raise StoreError(f"{output}: the merged store must be a new file, not one of its inputs")
    from tqdm import tqdm

    provenance = {"step": "merge", "inputs": [str(a), str(b)]}
    with StoreWriter(
        output, mode="a", base=a, provenance=provenance, allow_empty=first.allows_empty or second.allows_empty
    ) as writer:
        new_index = np.array(
            [writer.class_index(name, text) for name, text in zip(second.classes, second.class_descriptions)],
            dtype=np.int64,
        )
        for clip in tqdm(second, total=len(second), desc="merge", unit="clip", disable=not progress, leave=False):
            if clip.label >= 0:
                clip.label = int(new_index[clip.label])
            if clip.labels is not None:
                labels = np.zeros((clip.num_frames, len(writer.classes)), bool)
                labels[:, new_index[: clip.labels.shape[1]]] = clip.labels
                clip.labels = labels
            writer.add(clip)
        _merge_class_features(writer, first, second, new_index)
        for path, encoder in second.encoders.items():
            writer.record_encoder(path, first.encoders.get(path, encoder))
        total = len(writer)
    second.close()
    first.close()
    return {"output": str(output), "clips": total, "from_a": len(first), "from_b": len(second)}


def _merge_class_features(writer: StoreWriter, first: SkeletonStore, second: SkeletonStore, new_index) -> None:
    """B's per-class rows into the output wherever A has none (a class new to A, or a NaN row)."""
    for name in second.class_feature_names:
        theirs = second.class_feature(name)
        ours = first.class_feature(name) if name in first.class_feature_names else np.zeros((0, theirs.shape[1]))
        if ours.shape[1] != theirs.shape[1]:
            raise StoreError(
                f"{second.path}: class feature {name!r} has {theirs.shape[1]} dimensions, {first.path}'s "
                f"{ours.shape[1]}; embed both with the same encoder"
            )
        for row, index in zip(theirs, new_index):
            if np.isnan(row).all():
                continue
            if index >= len(ours) or np.isnan(ours[index]).all():
                writer.set_class_feature(name, int(index), row)


def _check_encoders(first: SkeletonStore, second: SkeletonStore) -> None:
    """Refuse to mix embeddings of two encoders in one array: their vectors are not comparable."""
    for path, encoder in second.encoders.items():
        if first.encoders.get(path, encoder) != encoder:
            raise StoreError(
                f"{second.path}: {path} was made by {encoder!r}, {first.path}'s by {first.encoders[path]!r}; "
                f"embed both with the same encoder (posekit text embed --encoder)"
            )
