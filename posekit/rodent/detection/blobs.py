"""Geometry of foreground blobs: connected components, their box, centre and body axis."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass
class Blob:
    """One animal-sized region in work-square pixels."""

    centre: np.ndarray  # (2,) x, y
    box: np.ndarray  # (4,) x1, y1, x2, y2 (pixel edges; pixel centres are at integer coordinates)
    axis: np.ndarray  # (2,) unit vector along the body (sign arbitrary until oriented by motion)
    length: float  # extent along the axis (4 standard deviations of the blob's pixels)
    mask: np.ndarray | None = None  # (S, S) bool, the blob's pixels
    score: float = 1.0

    @property
    def area(self) -> float:
        return float((self.box[2] - self.box[0]) * (self.box[3] - self.box[1]))


def clean(mask: np.ndarray, radius: int = 2) -> np.ndarray:
    """Opening removes thin parts (a tail, noise speckles), closing fills holes in the body."""
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    opened = cv2.morphologyEx(mask.astype(np.uint8), cv2.MORPH_OPEN, kernel)
    return cv2.morphologyEx(opened, cv2.MORPH_CLOSE, kernel).astype(bool)


def components(mask: np.ndarray, min_area: int = 1) -> list[Blob]:
    """Connected components of a boolean mask, largest first."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    order = np.argsort(-stats[1:, cv2.CC_STAT_AREA]) + 1
    blobs = []
    for k in order:
        if stats[k, cv2.CC_STAT_AREA] < min_area:
            break
        blobs.append(blob_of(labels == k))
    return blobs


def blob_of(mask: np.ndarray) -> Blob:
    """Centre (centroid), box and principal axis of a non-empty mask."""
    ys, xs = np.nonzero(mask)
    centre = np.array([xs.mean(), ys.mean()], np.float32)
    box = np.array([xs.min() - 0.5, ys.min() - 0.5, xs.max() + 0.5, ys.max() + 0.5], np.float32)  # pixel edges
    axis, length = principal_axis(np.stack([xs, ys], 1).astype(np.float64))
    return Blob(centre, box, axis, length, mask)


def principal_axis(points: np.ndarray) -> tuple[np.ndarray, float]:
    """Unit eigenvector of the points' largest spread, and 4 standard deviations along it."""
    if len(points) < 2:
        return np.array([1.0, 0.0], np.float32), 1.0
    values, vectors = np.linalg.eigh(np.cov(points.T) + 1e-6 * np.eye(2))
    return vectors[:, 1].astype(np.float32), float(4 * np.sqrt(values[1]))
