"""The appearance detector: a small fully convolutional network over a grey work square (the FCN of
LSTM self-supervision of rodent behaviour, Brattoli et al. 2017, built fully convolutional from the start instead of
reshaping a CNN's fc layers).

Output at a quarter of the input resolution, four maps: a centre heatmap (logit), the box width and height
(log, in output cells) and the animal's foreground (logit). Peaks of the heatmap are animals; the foreground
around a peak gives the body axis (heading); :mod:`posekit.rodent.detection.heatmaps` turns the maps into
animals.
"""

from __future__ import annotations

import torch
from torch import nn

STRIDE = 4


def _conv(cin, cout, stride=1, dilation=1):
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, stride, padding=dilation, dilation=dilation, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


class RodentFCN(nn.Module):
    """(B, 1, S, S) standardised grey frames -> (B, 4, S/4, S/4): heat, log w, log h, foreground."""

    def __init__(self, width: int = 16):
        super().__init__()
        w = width
        # Dilations give a receptive field of ~60 input pixels: a whole animal at the default work size.
        # Strided from the first layer: full-resolution layers would cost most of the time for little gain.
        self.body = nn.Sequential(
            _conv(1, w, 2),
            _conv(w, 2 * w),
            _conv(2 * w, 4 * w, 2),
            _conv(4 * w, 4 * w, dilation=2),
            _conv(4 * w, 4 * w, dilation=4),
        )
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
    neg = -torch.log(1 - p) * p**2 * (1 - target) ** 4 * (1 - positive)
    return (pos.sum() + neg.sum()) / positive.sum().clamp_min(1.0)
