"""``posekit fuse``: sum the per-clip softmax scores of several streams (joint + bone...), matched by clip id."""

from __future__ import annotations

import pickle

import numpy as np

from ..errors import InputError
from ..safe_pickle import load_pickle
from ..store import atomic_path
from .metric import accuracy


def load_scores(path) -> dict:
    """A scores.pkl of ``posekit eval`` / ``train``, read without running code (a hostile pickle is refused)."""
    data = load_pickle(path)
    try:
        run = {
            "ids": list(data["ids"]),
            "labels": np.asarray(data["labels"]),
            "scores": np.asarray(data["scores"]),
            "classes": data.get("classes"),
        }
    except (KeyError, TypeError, AttributeError, IndexError, ValueError) as e:
        raise InputError(f"{path}: not a posekit scores file ({type(e).__name__}: {e})") from None
    scores, labels, count = run["scores"], run["labels"], len(run["ids"])
    if (
        scores.ndim != 2
        or scores.dtype.kind not in "fiu"
        or len(scores) != count
        or labels.shape != (count,)
        or labels.dtype.kind not in "iu"
    ):
        raise InputError(
            f"{path}: not a posekit scores file (scores {scores.dtype} {scores.shape}, labels "
            f"{labels.dtype} {labels.shape} for {count} clip ids)"
        )
    return run


def fuse(paths, output=None, weights=None) -> dict:
    """Weighted sum of the scores of the clips present in every file; accuracy when labels are known."""
    runs = [load_scores(p) for p in paths]
    weights = list(weights) if weights else [1.0] * len(runs)
    if len(weights) != len(runs):
        raise InputError(f"{len(weights)} weights for {len(runs)} score files")
    for path, run in zip(paths, runs):
        if run["scores"].shape[1] != runs[0]["scores"].shape[1]:
            raise InputError(f"{path}: {run['scores'].shape[1]} classes, {paths[0]} has {runs[0]['scores'].shape[1]}")
    common = sorted(set.intersection(*(set(r["ids"]) for r in runs)))
    if not common:
        raise InputError("the score files share no clip id")
    aligned = []
    for run in runs:
        row = {clip_id: i for i, clip_id in enumerate(run["ids"])}
        aligned.append(run["scores"][[row[c] for c in common]])
    fused = sum(weight * scores for weight, scores in zip(weights, aligned))
    first = {clip_id: i for i, clip_id in enumerate(runs[0]["ids"])}
    labels = runs[0]["labels"][[first[c] for c in common]]
    result = {"ids": common, "labels": labels, "scores": fused, "classes": runs[0]["classes"]}
    labelled = bool((labels >= 0).all())
    metrics = accuracy(fused, labels) if labelled else {}
    # each file alone on the same clips, so that what the fusion adds can be read beside it
    each = {str(p): accuracy(scores, labels) for p, scores in zip(paths, aligned)} if labelled else {}
    if output is not None:
        with atomic_path(output) as tmp, open(tmp, "wb") as f:
            pickle.dump(result, f)
    return {
        "clips": len(common),
        "dropped": {str(p): len(r["ids"]) - len(common) for p, r in zip(paths, runs)},
        "each": each,
        **metrics,
    }
