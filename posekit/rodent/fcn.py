"""The appearance detector: a small fully convolutional network over a grey work square (the FCN of
LSTM self-supervision of rodent behaviour, Brattoli et al. 2017, built fully convolutional from the start instead of
reshaping a CNN's fc layers).

Output at a quarter of the input resolution, four maps: a centre heatmap (logit), the box width and height
(log, in output cells) and the animal's foreground (logit). Peaks of the heatmap are animals; the foreground
around a peak gives the body axis (heading).
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from .blobs import Blob, principal_axis

STRIDE = 4


def _conv(cin, cout, stride=1, dilation=1):
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, padding=dilation, dilation=dilation, bias=False),
                         nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class RodentFCN(nn.Module):
    """(B, 1, S, S) standardised grey frames -> (B, 4, S/4, S/4): heat, log w, log h, foreground."""

    def __init__(self, width: int = 16):
        super().__init__()
        w = width
        # Dilations give a receptive field of ~60 input pixels: a whole animal at the default work size.
        # Strided from the first layer: full-resolution layers would cost most of the time for little gain.
        self.body = nn.Sequential(_conv(1, w, 2), _conv(w, 2 * w), _conv(2 * w, 4 * w, 2),
                                  _conv(4 * w, 4 * w, dilation=2), _conv(4 * w, 4 * w, dilation=4))
        self.head = nn.Conv2d(4 * w, 4, 1)
        nn.init.constant_(self.head.bias, 0.0)
        self.head.bias.data[0] = -4.0  # start predicting "no animal" everywhere (CenterNet's prior)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x))


def standardise(frames: torch.Tensor) -> torch.Tensor:
    """Per-frame zero mean, unit variance: the detector never sees absolute brightness (flicker, gain)."""
    frames = frames.float()
    mean = frames.mean(dim=(-2, -1), keepdim=True)
    std = frames.std(dim=(-2, -1), keepdim=True).clamp_min(1.0)
    return (frames - mean) / std


def focal_loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """CenterNet's penalty-reduced focal loss on a Gaussian target heatmap, per positive peak."""
    p = torch.sigmoid(logits).clamp(1e-4, 1 - 1e-4)
    positive = target.ge(0.99).float()
    pos = -torch.log(p) * (1 - p) ** 2 * positive
    neg = -torch.log(1 - p) * p ** 2 * (1 - target) ** 4 * (1 - positive)
    return (pos.sum() + neg.sum()) / positive.sum().clamp_min(1.0)


def decode(output: torch.Tensor, max_animals: int = 1, threshold: float = 0.3,
           candidates: int = 5) -> list[list[Blob]]:
    """Animals in each frame of a batch of network outputs, in work-square pixels, best first.

    Up to ``candidates`` heatmap peaks above ``threshold`` are kept per animal slot (seed 003 keeps 5 and lets
    temporal smoothing pick); the tracker chooses among them."""
    heat = torch.sigmoid(output[:, 0].float())
    peaks = heat * (F.max_pool2d(heat[:, None], 3, 1, 1)[:, 0] == heat)
    fg = torch.sigmoid(F.interpolate(output[:, 3:4].float(), scale_factor=STRIDE, mode="bilinear",
                                     align_corners=False)[:, 0]).cpu().numpy()
    sizes = output[:, 1:3].float().exp().cpu().numpy() * STRIDE
    heat_np, peaks_np = heat.cpu().numpy(), peaks.cpu().numpy()
    found = []
    for b in range(output.shape[0]):
        flat = peaks_np[b].ravel()
        order = np.argsort(-flat)[:max_animals * candidates]
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
    ys, xs = np.mgrid[y0:y0 + window.shape[0], x0:x0 + window.shape[1]]
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
