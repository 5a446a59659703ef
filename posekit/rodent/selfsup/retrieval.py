"""Nearest-neighbour retrieval scores of embeddings against known labels: precision@k and mean average precision
under cosine similarity (the paper's measure between behaviour vectors).

``groups`` keeps a query from retrieving items of its own group (its own clip or bout): overlapping windows of
one bout are near copies of each other and would make any feature look good.
"""

from __future__ import annotations

import numpy as np


def cosine_similarity(embeddings: np.ndarray) -> np.ndarray:
    x = np.asarray(embeddings, np.float64)
    x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    return x @ x.T


def _ranking(embeddings, labels, groups):
    """Per query: labels-match matrix in similarity order, and which of those items may be retrieved."""
    labels = np.asarray(labels)
    similarity = cosine_similarity(embeddings)
    eligible = ~np.eye(len(labels), dtype=bool)
    if groups is not None:
        groups = np.asarray(groups)
        eligible &= groups[:, None] != groups[None, :]
    similarity[~eligible] = -np.inf
    order = np.argsort(-similarity, axis=1, kind="stable")
    relevant = (labels[order] == labels[:, None]) & np.take_along_axis(eligible, order, axis=1)
    return relevant, np.take_along_axis(eligible, order, axis=1)


def precision_at_k(embeddings: np.ndarray, labels, k: int, groups=None) -> float:
    """Mean over queries of the fraction of its k nearest eligible neighbours that share its label."""
    relevant, eligible = _ranking(embeddings, labels, groups)
    counts = np.minimum(eligible.sum(1), k)
    hits = relevant[:, :k].sum(1)
    keep = counts > 0
    return float(np.mean(hits[keep] / counts[keep]))


def mean_average_precision(embeddings: np.ndarray, labels, groups=None) -> float:
    """Mean over queries (with at least one relevant item) of the average precision of the full ranking."""
    relevant, _ = _ranking(embeddings, labels, groups)
    ranks = np.arange(1, relevant.shape[1] + 1)
    precision = np.cumsum(relevant, axis=1) / ranks
    totals = relevant.sum(1)
    keep = totals > 0
    return float(np.mean((precision * relevant).sum(1)[keep] / totals[keep]))
