"""Drawing skeletons with OpenCV, on video frames or blank panels: layout bones, joints, a track id + confidence
label, and the fitting of a clip into a panel."""

from __future__ import annotations

import numpy as np

# matplotlib's tab10, as BGR for OpenCV: distinct colours for tracks or experts.
PALETTE = (
    (180, 119, 31),
    (14, 127, 255),
    (44, 160, 44),
    (40, 39, 214),
    (189, 103, 148),
    (75, 86, 140),
    (194, 119, 227),
    (127, 127, 127),
    (34, 189, 188),
    (207, 190, 23),
)
LOW_CONFIDENCE = (160, 160, 160)  # persons below the refine step's gamma


def colour(index: int) -> tuple[int, int, int]:
    return PALETTE[int(index) % len(PALETTE)]


def line_width(image) -> int:
    """Lines about 1/300 of the smaller image side, at least 1 px."""
    return max(1, round(min(image.shape[:2]) / 300))


def draw_person(image, joints, bones, colour, label: str = "") -> None:
    """Draw one person (V, 2) in place: bones (child, parent) whose two ends are present, joints, and a label."""
    import cv2

    width = line_width(image)
    present = ~np.isnan(joints).any(axis=-1)
    points = np.round(np.nan_to_num(joints)).astype(np.int32)
    segments = [points[[child, parent]] for child, parent in bones if present[child] and present[parent]]
    cv2.polylines(image, segments, isClosed=False, color=colour, thickness=width, lineType=cv2.LINE_AA)
    for x, y in points[present]:
        cv2.circle(image, (int(x), int(y)), width + 1, colour, -1, lineType=cv2.LINE_AA)
    if label and present.any():
        x, y = points[present].min(axis=0)  # above the person's top-left corner
        draw_text(image, label, (int(x), int(y) - 4 * width), colour)


def draw_text(image, text: str, origin, colour) -> None:
    """Text with a dark outline, readable on any background."""
    import cv2

    width = line_width(image)
    scale = 0.45 * width
    x, y = max(int(origin[0]), 0), max(int(origin[1]), 12 * width)
    for ink, thickness in (((0, 0, 0), 2 * width + 1), (colour, width)):
        cv2.putText(image, text, (x, y), cv2.FONT_HERSHEY_SIMPLEX, scale, ink, thickness, cv2.LINE_AA)


def person_label(track_id: int, confidence: float) -> str:
    return f"#{track_id}" + ("" if np.isnan(confidence) else f" {confidence:.2f}")


def fit_into(points: np.ndarray, width: int, height: int, *, top: int = 0, margin: float = 0.08) -> np.ndarray:
    """Points (..., 2) scaled uniformly and centred into the ``width`` x ``height`` box below its first ``top``
    rows: the box around all their present values fills it but for ``margin`` of each side. NaN stays NaN."""
    present = points[~np.isnan(points).any(axis=-1)]
    if not len(present):
        return points.copy()
    low, high = present.min(axis=0), present.max(axis=0)
    room = np.array([width, height - top]) * (1 - 2 * margin)
    scale = (room / np.maximum(high - low, 1e-9)).min()  # one scale for x and y keeps the body's proportions
    return (points - (low + high) / 2) * scale + np.array([width / 2, top + (height - top) / 2])
