"""The metrics of posekit's models: ClipAccuracy (top-1, top-5 and mean class accuracy, with per-clip scores and a
confusion matrix kept) and RetargetError (the motion generator's retargeting errors)."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
from mmengine.evaluator import BaseMetric

from ..registry import METRICS
from ..store import atomic_path


@METRICS.register_module()
class ClipAccuracy(BaseMetric):
    """Accuracy over clips, the scores of a clip id seen several times (multi-clip testing) averaged. With
    ``out_dir``, also writes ``scores.pkl`` ({clip id: scores}, for ``posekit fuse``) and ``confusion.png``
    there, and keeps the last results in ``self.last``."""

    default_prefix = ""

    def __init__(self, out_dir: str | None = None, class_names=None, topk=(1, 5), **kwargs):
        super().__init__(**kwargs)
        self.out_dir = out_dir
        self.class_names = class_names
        self.topk = topk
        self.last = None

    def process(self, data_batch, data_samples):
        for sample in data_samples:
            self.results.append((sample["id"], sample["label"], sample["scores"].cpu().numpy()))

    def compute_metrics(self, results) -> dict:
        ids, labels, scores = average_per_clip(results)
        metrics = accuracy(scores, labels, self.topk)
        self.last = {"ids": ids, "labels": labels, "scores": scores, "metrics": metrics}
        if self.out_dir:
            out = Path(self.out_dir)
            out.mkdir(parents=True, exist_ok=True)
            # dicts, lists and arrays only: `posekit fuse` reads them back with posekit.safe_pickle
            with atomic_path(out / "scores.pkl") as tmp, open(tmp, "wb") as f:
                pickle.dump({"ids": ids, "labels": labels, "scores": scores, "classes": self.class_names}, f)
            from ..plots import confusion_png

            confusion_png(labels, scores.argmax(1), out / "confusion.png", self.class_names)
        return metrics


@METRICS.register_module()
class RetargetError(BaseMetric):
    """The mean of each per-pair error over the evaluated pairs (the rows of
    :class:`~posekit.train.retargeting.RetargetingModel` in ``predict`` mode)."""

    default_prefix = ""

    def process(self, data_batch, data_samples):
        self.results.extend(data_samples)

    def compute_metrics(self, results) -> dict:
        return {k: float(np.mean([r[k] for r in results])) for k in results[0]}


def average_per_clip(results) -> tuple[list, np.ndarray, np.ndarray]:
    """(id, label, scores) triples -> ids in first-seen order, their labels, and the mean scores of each id."""
    rows: dict = {}
    for clip_id, label, scores in results:
        rows.setdefault(clip_id, (label, []))[1].append(scores)
    ids = list(rows)
    labels = np.array([rows[i][0] for i in ids])
    return ids, labels, np.stack([np.mean(rows[i][1], axis=0) for i in ids])


def accuracy(scores: np.ndarray, labels: np.ndarray, topk=(1, 5)) -> dict:
    """top-k accuracies (%) and mean class accuracy (%: the mean over classes present of per-class recall)."""
    order = np.argsort(-scores, axis=1)
    metrics = {}
    for k in topk:
        k_eff = min(k, scores.shape[1])
        metrics[f"top{k}"] = float((order[:, :k_eff] == labels[:, None]).any(axis=1).mean() * 100)
    predicted = order[:, 0]
    recalls = [(predicted[labels == c] == c).mean() for c in np.unique(labels)]
    metrics["mean_class_acc"] = float(np.mean(recalls) * 100)
    return metrics
