"""``posekit synth untrimmed``: long sequences chained from a store's clips, labelled frame by frame, for action
segmentation (thesis ch. 4, LAC transferred to untrimmed data such as Toyota Smarthome Untrimmed or PKU-MMD).

Splits are respected: each split's clips are shuffled and chained ``clips_per_sequence`` at a time into sequences
of that split only (a clip in two splits appears in a sequence of each); the shuffle is seeded by the seed and the
split's name, so building one split alone gives the sequences it gets among all. Between two clips, ``transition``
frames interpolate linearly from the last pose of one to the first pose of the next; they are background (no
class). A clip's frames carry its class, plus any per-frame labels the source store has; an unlabelled clip (no
class, no frame label) is left out.

Every person slot is kept as it is (the store's max persons), and coordinates, dimensions and the other per-person
fields (scores, boxes, keypoints_3d) as in the source; a transition interpolates each slot's joints where both ends
have them and leaves the others missing. A sequence's ``/clips/source`` records its clips as JSON, so any frame
can be traced back to its source clip and frame::

    {"store": "ucla.h5", "clips": [{"id": CLIP_ID, "frames": [FIRST, STOP], "at": AT, "label": CLASS}, ...]}

frames FIRST..STOP-1 of clip CLIP_ID are frames AT.. of the sequence.
"""

from __future__ import annotations

import json
import zlib
from pathlib import Path

import numpy as np

from ..errors import PosekitError
from ..progress import progress_bar
from ..store import Clip, SkeletonStore, StoreWriter

INTERPOLATED = ("keypoints", "scores", "keypoints_3d", "box")  # per-person float fields chained with transitions


def sequence_groups(indices: np.ndarray, clips_per_sequence: int, rng: np.random.Generator) -> list[np.ndarray]:
    """``indices`` shuffled, then cut into groups of ``clips_per_sequence`` (the last group may be shorter)."""
    shuffled = rng.permutation(indices)
    return [shuffled[k : k + clips_per_sequence] for k in range(0, len(shuffled), clips_per_sequence)]


def split_rng(seed: int, split: str | None) -> np.random.Generator:
    """The generator of one split's shuffle: the same for a split whether or not other splits are built."""
    return np.random.default_rng([seed, zlib.crc32((split or "").encode())])


def transition_frames(last: np.ndarray, first: np.ndarray, frames: int) -> np.ndarray:
    """``frames`` frames strictly between ``last`` and ``first`` (one frame's array each), by linear interpolation;
    NaN wherever either end is NaN."""
    weights = (np.arange(1, frames + 1) / (frames + 1)).reshape((-1,) + (1,) * last.ndim)
    return ((1 - weights) * last + weights * first).astype(last.dtype)


def clip_frame_labels(clip: Clip, num_classes: int) -> np.ndarray:
    """(T, K) bool: the clip's class on every frame, with the clip's own per-frame labels where the store has them."""
    labels = np.zeros((clip.num_frames, num_classes), bool)
    if clip.labels is not None:
        labels[:, : clip.labels.shape[1]] = clip.labels
    if clip.label >= 0:
        labels[:, clip.label] = True
    return labels


def chain(clips: list[Clip], transition: int, num_classes: int) -> tuple[dict, np.ndarray, list[dict]]:
    """The per-frame arrays of the sequence made of ``clips`` with ``transition`` frames between neighbours: the
    fields of :data:`INTERPOLATED` the clips have, the (T, K) labels, and each clip's record for /clips/source."""
    fields = [name for name in INTERPOLATED if getattr(clips[0], name) is not None]
    parts: dict[str, list] = {name: [] for name in fields + ["labels"]}
    records, at = [], 0
    for k, clip in enumerate(clips):
        if k and transition:
            previous = clips[k - 1]
            for name in fields:
                parts[name].append(transition_frames(getattr(previous, name)[-1], getattr(clip, name)[0], transition))
            parts["labels"].append(np.zeros((transition, num_classes), bool))
            at += transition
        for name in fields:
            parts[name].append(getattr(clip, name))
        parts["labels"].append(clip_frame_labels(clip, num_classes))
        records.append({"id": clip.id, "frames": [0, clip.num_frames], "at": at, "label": clip.label})
        at += clip.num_frames
    arrays = {name: np.concatenate(values) for name, values in parts.items()}
    return arrays, arrays.pop("labels"), records


def shared_fps(rates: np.ndarray) -> float:
    """The frame rate all clips of a sequence share, else NaN (unknown)."""
    return float(rates[0]) if np.allclose(rates, rates[0], equal_nan=True) else float("nan")


def shared_image_size(sizes: np.ndarray) -> tuple[int, int]:
    """The image size all clips of a sequence share, else (0, 0) (unknown)."""
    return tuple(int(v) for v in sizes[0]) if (sizes == sizes[0]).all() else (0, 0)


def usable_clips(store: SkeletonStore, indices: np.ndarray) -> np.ndarray:
    """The clips that can be chained: at least one frame, and a class or per-frame labels."""
    labelled = store.labels[indices] >= 0
    if "labels" in store.frame_fields:
        labelled |= np.array([store.frames(int(i), ("labels",))["labels"].any() for i in indices], bool)
    return indices[labelled & (store.lengths[indices] > 0)]


def plan_sequences(store: SkeletonStore, splits, clips_per_sequence: int, seed: int) -> dict:
    """{split: the clip indices of each of its sequences}: ``splits`` (default every split of the store; all clips
    as one group, split None, in a store without splits)."""
    names = list(splits or store.splits) or [None]
    return {
        split: sequence_groups(usable_clips(store, store.split(split)), clips_per_sequence, split_rng(seed, split))
        for split in names
    }


def synth_untrimmed(
    source, output, *, clips_per_sequence: int = 8, transition: int = 5, splits=(), seed: int = 0, progress: bool = True
) -> dict:
    """Write ``output``: the clips of ``splits`` of ``source`` chained into long sequences with per-frame labels
    (:func:`plan_sequences`, :func:`chain`); returns what was written."""
    if clips_per_sequence < 1 or transition < 0:
        raise PosekitError(f"{source}: needs --clips-per-sequence >= 1 and --transition >= 0")
    with SkeletonStore(source) as store:
        plan = plan_sequences(store, splits, clips_per_sequence, seed)
        chained = sum(len(members) for sequences in plan.values() for members in sequences)
        if not chained:
            raise PosekitError(f"{source}: no labelled clip to chain in {', '.join(map(str, plan))}")
        step = dict(
            step="synth-untrimmed",
            source=str(source),
            splits=list(plan),
            seed=seed,
            clips_per_sequence=clips_per_sequence,
            transition=transition,
        )
        fps, image_sizes = store.column("fps"), store.column("image_size")
        frames = background = 0
        with StoreWriter(
            output,
            layout=store.layout,
            coord_dims=store.coord_dims,
            classes=store.classes,
            class_descriptions=store.class_descriptions,
            coordinates=store.coordinates,
            name=Path(output).stem,
            provenance=step,
            allow_empty=store.allows_empty,
        ) as writer:
            for split, sequences in plan.items():
                for number, members in enumerate(
                    progress_bar(
                        sequences,
                        desc=f"synth untrimmed {split or ''}",
                        unit="sequence",
                        show=progress,
                        leave=False,
                    )
                ):
                    arrays, labels, records = chain([store[int(i)] for i in members], transition, len(store.classes))
                    writer.add(
                        Clip(
                            id=f"{split or 'all'}_{number:05d}",
                            labels=labels,
                            **arrays,
                            fps=shared_fps(fps[members]),
                            image_size=shared_image_size(image_sizes[members]),
                            source=json.dumps({"store": Path(source).name, "clips": records}),
                            splits=(split,) if split else (),
                        )
                    )
                    frames += len(labels)
                    background += int((~labels.any(axis=1)).sum())
        considered = sum(len(store.split(split)) for split in plan)
    return {
        "sequences": {split or "all": len(sequences) for split, sequences in plan.items()},
        "clips": chained,
        "skipped": considered - chained,
        "frames": frames,
        "background_frames": background,
        "output": str(output),
    }
