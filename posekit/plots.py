"""Plots people would rather look at than read: confusion matrices, histograms. Written with matplotlib (Agg)."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def confusion_matrix(labels: np.ndarray, predicted: np.ndarray, num_classes: int) -> np.ndarray:
    """(K, K) counts: row = true class, column = predicted class."""
    matrix = np.zeros((num_classes, num_classes), np.int64)
    np.add.at(matrix, (labels, predicted), 1)
    return matrix


def confusion_png(labels, predicted, path: str | Path, class_names=None) -> Path:
    """Row-normalised confusion matrix as a PNG; returns its path."""
    num_classes = len(class_names) if class_names else int(max(labels.max(), predicted.max()) + 1)
    matrix = confusion_matrix(labels, predicted, num_classes)
    rates = matrix / np.maximum(matrix.sum(1, keepdims=True), 1)
    plt = _pyplot()
    size = min(4 + 0.3 * num_classes, 30)
    fig, ax = plt.subplots(figsize=(size, size))
    ax.imshow(rates, cmap="Blues", vmin=0, vmax=1)
    names = class_names or [str(i) for i in range(num_classes)]
    if num_classes <= 60:
        ax.set_xticks(range(num_classes), names, rotation=90, fontsize=7)
        ax.set_yticks(range(num_classes), names, fontsize=7)
        for (i, j), value in np.ndenumerate(rates):
            if value >= 0.01:
                ax.text(
                    j,
                    i,
                    f"{value:.2f}",
                    ha="center",
                    va="center",
                    fontsize=5,
                    color="white" if value > 0.5 else "black",
                )
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    accuracy = np.trace(matrix) / max(matrix.sum(), 1) * 100
    ax.set_title(f"confusion (row-normalised), top-1 {accuracy:.1f}%")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return Path(path)
