"""FrameSegmentation: frame-level accuracy and mAP over whole sequences (the thesis's frame-level mAP, Tables 4.2,
4.5 and 4.7), each frame scored by the mean of the windows that cover it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from mmengine.evaluator import BaseMetric

from ...registry import METRICS
from ...store import atomic_path


def average_overlapping(windows, frames: int) -> np.ndarray:
    """(frames, K): each frame's mean over the ``windows`` (start, scores (L, K)) that cover it."""
    total = np.zeros((frames, windows[0][1].shape[1]))
    count = np.zeros((frames, 1))
    for start, scores in windows:
        total[start : start + len(scores)] += scores
        count[start : start + len(scores)] += 1
    return total / count


def merge_windows(windows) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """{sequence id: (scores, labels), each (T, K)} from (id, start, scores, labels) windows, in first-seen order:
    the scores of overlapping windows averaged (:func:`average_overlapping`), the labels as the windows give them."""
    by_sequence: dict[str, list] = {}
    for sequence, start, scores, labels in windows:
        by_sequence.setdefault(sequence, []).append((start, scores, labels))
    merged = {}
    for sequence, parts in by_sequence.items():
        frames = max(start + len(scores) for start, scores, _ in parts)
        labels = np.zeros((frames, parts[0][2].shape[1]), bool)
        for start, _, window_labels in parts:
            labels[start : start + len(window_labels)] = window_labels
        merged[sequence] = (average_overlapping([(start, scores) for start, scores, _ in parts], frames), labels)
    return merged


def average_precision(scores: np.ndarray, positives: np.ndarray) -> float:
    """sklearn's ``average_precision_score``: sum over score thresholds, highest first, of (recall gained) x
    (precision there), the frames sharing a score taken together as one threshold; NaN without positives."""
    order = np.argsort(-scores, kind="stable")
    scores, positives = scores[order], positives[order].astype(bool)
    thresholds = np.append(np.flatnonzero(np.diff(scores)), len(scores) - 1)  # the last frame of each distinct score
    true = np.cumsum(positives)[thresholds]
    false = np.cumsum(~positives)[thresholds]
    if not len(true) or true[-1] == 0:
        return float("nan")
    recall_gained = np.diff(true, prepend=0) / true[-1]
    return float(np.sum(recall_gained * true / (true + false)))


def frame_accuracy(scores: np.ndarray, labels: np.ndarray) -> float:
    """% of the labelled frames whose best-scoring class is one of their labels; background frames (no label) do not
    count, as no class stands for them. NaN when every frame is background."""
    labelled = np.flatnonzero(labels.any(axis=1))
    if not len(labelled):
        return float("nan")
    return float(labels[labelled, scores[labelled].argmax(axis=1)].mean() * 100)


@METRICS.register_module()
class FrameSegmentation(BaseMetric):
    """Over the frames of all sequences: ``frame_acc`` (:func:`frame_accuracy`) and ``mAP``, the mean over classes
    with at least one frame of :func:`average_precision` of that class's per-frame scores (background frames count
    as negatives of every class), both in %; ``frames`` and ``background_frames`` say what was scored.
    With ``out_dir``, also writes ``class_ap.json`` (AP % per class name, null for a class absent from the split)
    and ``frame_scores.npz`` (each sequence's (T, K) per-frame scores, keyed by sequence id)."""

    default_prefix = ""

    def __init__(self, out_dir: str | None = None, class_names=None, **kwargs):
        super().__init__(**kwargs)
        self.out_dir = out_dir
        self.class_names = class_names

    def process(self, data_batch, data_samples):
        for window in data_samples:
            self.results.append((window["id"], window["start"], window["scores"].numpy(), window["labels"].numpy()))

    def compute_metrics(self, results) -> dict:
        sequences = merge_windows(results)
        scores = np.concatenate([scores for scores, _ in sequences.values()])
        labels = np.concatenate([labels for _, labels in sequences.values()])
        class_ap = [average_precision(scores[:, k], labels[:, k]) for k in range(labels.shape[1])]
        if self.out_dir:
            self._write(sequences, class_ap)
        return {
            "frame_acc": frame_accuracy(scores, labels),
            "mAP": float(np.nanmean(class_ap) * 100),
            "frames": len(labels),
            "background_frames": int((~labels.any(axis=1)).sum()),
        }

    def _write(self, sequences: dict, class_ap: list[float]) -> None:
        out = Path(self.out_dir)
        out.mkdir(parents=True, exist_ok=True)
        names = self.class_names or [str(k) for k in range(len(class_ap))]
        with atomic_path(out / "class_ap.json") as tmp:
            tmp.write_text(
                json.dumps({name: None if np.isnan(ap) else ap * 100 for name, ap in zip(names, class_ap)}, indent=1)
            )
        with atomic_path(out / "frame_scores.npz") as tmp, open(tmp, "wb") as f:
            np.savez_compressed(
                f, **{sequence: scores.astype(np.float32) for sequence, (scores, _) in sequences.items()}
            )
