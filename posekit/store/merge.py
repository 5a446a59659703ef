"""``posekit store merge``: the clips of several stores, one after another, in a new store; classes matched by name.
Shards of one extraction (``posekit extract --shard K/N``) are merged in shard order, as one run would order them."""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path

import numpy as np

from .format import StoreError
from .reader import SkeletonStore
from .writer import StoreWriter


def merge(inputs, output, *, progress: bool = True) -> dict:
    """Write ``output`` = the clips of every store of ``inputs`` (two or more), the first's then the next's...
    Layouts and coordinate dimensions must agree; classes are united by name (labels re-indexed, a later store's
    description kept where the class has none yet); clip ids must be unique across all. Captions and per-clip
    features come with the clips; per-class features keep the first row given for each class and take a later
    store's for the classes that have none yet; arrays made by different encoders are refused. The inputs are only
    read, and refused when they fail the structural checks (the reader's). The output allows empty clips if any
    input did. The output's datasets are copied from the first store's file with their filters: a store written
    before chunk checksums keeps its unchecked datasets; arrays the merge creates carry checksums.

    When every input is a shard of the same ``--shard K/N`` extraction, they are merged in shard order whatever
    the order given, so the clips follow the videos as one run over all of them would; the summary's ``shards``
    then names the shards missing from the inputs. The output records the provenance of every input after the
    first (whose own steps it starts with)."""
    if len(inputs) < 2:
        raise StoreError("merge needs two or more stores")
    with ExitStack() as opened:
        stores = [opened.enter_context(SkeletonStore(path)) for path in inputs]
        stores, shards = _in_shard_order(stores)
        encoders = _check_compatible(stores)
        if Path(output).resolve() in {store.path.resolve() for store in stores}:
            raise StoreError(f"{output}: the merged store must be a new file, not one of its inputs")
        first, later = stores[0], stores[1:]
        provenance = {
            "step": "merge",
            "inputs": [str(store.path) for store in stores],
            "input_provenance": {str(store.path): store.provenance for store in later},
        }
        with StoreWriter(
            output,
            mode="a",
            base=first.path,
            provenance=provenance,
            allow_empty=any(store.allows_empty for store in stores),
        ) as writer:
            class_rows = {name: first.class_feature(name) for name in first.class_feature_names}
            for store in later:
                new_index = _append(writer, store, progress)
                _merge_class_features(writer, class_rows, store, new_index)
            for path, encoder in encoders.items():
                writer.record_encoder(path, encoder)
            total = len(writer)
    return {
        "output": str(output),
        "clips": total,
        "inputs": {str(store.path): len(store) for store in stores},
        "shards": shards,
    }


def _check_compatible(stores: list[SkeletonStore]) -> dict[str, str]:
    """Refuse stores that cannot be one: another layout or coordinates than the first's, a clip id that an earlier
    store holds, an array made by another encoder than an earlier store's. Returns each array's encoder."""
    first = stores[0]
    encoders = dict(first.encoders)
    made_by = dict.fromkeys(encoders, first.path)
    for index, store in enumerate(stores[1:], start=1):
        if store.layout.joints != first.layout.joints:
            raise StoreError(
                f"{store.path}: layout {store.layout.name!r} differs from {first.path}'s {first.layout.name!r}; "
                f"convert one of them with --layout first"
            )
        if store.coord_dims != first.coord_dims or store.coordinates != first.coordinates:
            raise StoreError(
                f"{store.path}: {store.coord_dims}D {store.coordinates} coordinates, {first.path} has "
                f"{first.coord_dims}D {first.coordinates}"
            )
        for earlier in stores[:index]:
            clash = np.intersect1d(earlier.ids, store.ids)
            if len(clash):
                raise StoreError(
                    f"{store.path}: {len(clash)} clip ids also in {earlier.path} (e.g. {clash[0]!r}); "
                    "clip ids must be unique"
                )
        for path, encoder in store.encoders.items():
            if encoders.setdefault(path, encoder) != encoder:
                raise StoreError(
                    f"{store.path}: {path} was made by {encoder!r}, {made_by[path]}'s by {encoders[path]!r}; "
                    f"embed both with the same encoder (posekit text embed --encoder)"
                )
            made_by.setdefault(path, store.path)
    return encoders


def _append(writer: StoreWriter, store: SkeletonStore, progress: bool) -> np.ndarray:
    """Add the clips of ``store``, labels re-indexed to the output's classes; returns the output index of each of
    its classes."""
    from ..progress import progress_bar

    new_index = np.array(
        [writer.class_index(name, text) for name, text in zip(store.classes, store.class_descriptions)],
        dtype=np.int64,
    )
    for clip in progress_bar(store, total=len(store), desc="merge", unit="clip", show=progress, leave=False):
        if clip.label >= 0:
            clip.label = int(new_index[clip.label])
        if clip.labels is not None:
            labels = np.zeros((clip.num_frames, len(writer.classes)), bool)
            labels[:, new_index[: clip.labels.shape[1]]] = clip.labels
            clip.labels = labels
        writer.add(clip)
    return new_index


def _merge_class_features(writer: StoreWriter, class_rows: dict, store: SkeletonStore, new_index) -> None:
    """``store``'s per-class rows into the output wherever the stores before it gave none (a class new to them, or
    a NaN row); ``class_rows`` ({name: (K, D) rows}, NaN = none) holds what they gave and takes what is added."""
    for name in store.class_feature_names:
        theirs = store.class_feature(name)
        ours = class_rows.get(name, np.zeros((0, theirs.shape[1]), np.float32))
        if ours.shape[1] != theirs.shape[1]:
            raise StoreError(
                f"{store.path}: class feature {name!r} has {theirs.shape[1]} dimensions, the stores before it "
                f"{ours.shape[1]}; embed all with the same encoder"
            )
        for row, index in zip(theirs, new_index):
            if np.isnan(row).all() or (index < len(ours) and not np.isnan(ours[index]).all()):
                continue
            writer.set_class_feature(name, int(index), row)
            if index >= len(ours):
                ours = np.concatenate([ours, np.full((index + 1 - len(ours), ours.shape[1]), np.nan, np.float32)])
            ours[index] = row
        class_rows[name] = ours


def _in_shard_order(stores: list[SkeletonStore]) -> tuple[list[SkeletonStore], dict | None]:
    """The stores in shard order when all are shards of one ``--shard K/N`` extraction (their provenance says so),
    with the shard count and the missing shards; else as given, and None."""
    shards = [_extract_shard(store) for store in stores]
    if None in shards or len({shard["count"] for shard in shards}) > 1:
        return stores, None
    count = shards[0]["count"]
    ordered = sorted(zip(shards, stores), key=lambda pair: pair[0]["index"])
    missing = sorted(set(range(count)) - {shard["index"] for shard in shards})
    return [store for _, store in ordered], {"count": count, "missing": missing}


def _extract_shard(store: SkeletonStore) -> dict | None:
    """The shard of an extraction the store holds ({index, count, videos}), from its provenance, or None."""
    steps = [step for step in store.provenance if step.get("step") == "extract"]
    shard = steps[0].get("shard") if len(steps) == 1 else None
    return shard if isinstance(shard, dict) and {"index", "count"} <= set(shard) else None
