"""Animals from the detector's output maps (:class:`posekit.nets.rodent_fcn.RodentFCN`): the peaks of the centre
heatmap, each with its box and the body axis of the foreground around it."""

from __future__ import annotations

import numpy as np
import torch
from torch.nn import functional as F

from ...nets.rodent_fcn import STRIDE
from .blobs import Blob, principal_axis


def decode(output: torch.Tensor, max_animals: int = 1, threshold: float = 0.3, candidates: int = 5) -> list[list[Blob]]:
    """Animals in each frame of a batch of network outputs, in work-square pixels, best first.

    Up to ``candidates`` heatmap peaks above ``threshold`` are kept per animal slot (seed 003 keeps 5 and lets
    temporal smoothing pick); the tracker chooses among them."""
    heat = torch.sigmoid(output[:, 0].float())
    peaks = heat * (F.max_pool2d(heat[:, None], 3, 1, 1)[:, 0] == heat)
    fg = (
        torch.sigmoid(
            F.interpolate(output[:, 3:4].float(), scale_factor=STRIDE, mode="bilinear", align_corners=False)[:, 0]
        )
        .cpu()
        .numpy()
    )
    sizes = output[:, 1:3].float().exp().cpu().numpy() * STRIDE
    heat_np, peaks_np = heat.cpu().numpy(), peaks.cpu().numpy()
    found = []
    for b in range(output.shape[0]):
        flat = peaks_np[b].ravel()
        order = np.argsort(-flat)[: max_animals * candidates]
        blobs = []
        for k in order:
            if flat[k] < threshold:
                break
            cy, cx = divmod(int(k), peaks_np.shape[2])
            blobs.append(_blob(heat_np[b], fg[b], sizes[b][:, cy, cx], cx, cy, float(flat[k])))
        found.append(blobs)
    return found


def _blob(heat, fg, size, cx, cy, score) -> Blob:
    """A detection from a heatmap peak: sub-cell centre, box from the size maps, axis from the foreground."""
    y0, y1, x0, x1 = max(cy - 1, 0), cy + 2, max(cx - 1, 0), cx + 2
    window = heat[y0:y1, x0:x1]
    ys, xs = np.mgrid[y0 : y0 + window.shape[0], x0 : x0 + window.shape[1]]
    centre = (np.array([(xs * window).sum(), (ys * window).sum()]) / window.sum() + 0.5) * STRIDE - 0.5
    w, h = size
    box = np.array([centre[0] - w / 2, centre[1] - h / 2, centre[0] + w / 2, centre[1] + h / 2], np.float32)
    x1, y1 = np.floor(box[:2]).astype(int).clip(0, fg.shape[1] - 1)
    x2, y2 = np.ceil(box[2:]).astype(int).clip(1, fg.shape[1])
    ys, xs = np.nonzero(fg[y1:y2, x1:x2] > 0.5)
    if len(xs) >= 2:
        axis, length = principal_axis(np.stack([xs + x1, ys + y1], 1).astype(np.float64))
    else:  # no foreground: the box's longer side is the best guess of the body axis
        axis, length = (np.array([1.0, 0.0], np.float32), w) if w >= h else (np.array([0.0, 1.0], np.float32), h)
    return Blob(centre.astype(np.float32), box, axis, length, score=score)
