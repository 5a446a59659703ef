"""DMSD (RatPose / DMSD future-position prediction): dual-stream motion-scenario decoupling from video, and the
single temporal-shift stream it is compared with.

Input: frames (N, T, C, H, W). The motion removal module (MRM) sees the differences to the first frame and its
output is subtracted from the frames, leaving the scenario-relative term u; the scenario removal module (SRM)
sees the frames and its output is subtracted from them, leaving the motion-relative term v. Two temporal-shift
ResNet streams turn u into scenario features s and v into motion features m; the predictor averages over time
(TSM's consensus) and classifies [s, m]. Sizes default to small frames (~64 px) and a CPU budget.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..registry import MODELS


def temporal_shift(x: torch.Tensor, segments: int, fold_div: int = 8) -> torch.Tensor:
    """TSM's shift (Lin et al. 2019) on (N*T, C, H, W): the first C/fold_div channels of frame t take frame t+1's
    values, the next C/fold_div take frame t-1's, the rest stay; zeros enter at the clip's ends."""
    nt, c, h, w = x.shape
    x = x.view(nt // segments, segments, c, h, w)
    fold = c // fold_div
    out = torch.zeros_like(x)
    out[:, :-1, :fold] = x[:, 1:, :fold]
    out[:, 1:, fold : 2 * fold] = x[:, :-1, fold : 2 * fold]
    out[:, :, 2 * fold :] = x[:, :, 2 * fold :]
    return out.view(nt, c, h, w)


def _conv_bn(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout))


class ShiftBlock(nn.Module):
    """ResNet basic block with TSM's residual shift: the shift feeds the residual branch only."""

    def __init__(self, cin: int, cout: int, stride: int, segments: int):
        super().__init__()
        self.segments = segments
        self.conv1 = _conv_bn(cin, cout, stride)
        self.conv2 = _conv_bn(cout, cout)
        self.skip = (
            nn.Identity()
            if stride == 1 and cin == cout
            else nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
        )

    def forward(self, x):
        out = torch.relu(self.conv1(temporal_shift(x, self.segments)))
        return torch.relu(self.conv2(out) + self.skip(x))


class TemporalShiftNet(nn.Module):
    """A small temporal-shift ResNet: (N*T, C, H, W) -> per-frame features (N*T, widths[-1])."""

    def __init__(self, in_channels: int = 1, widths=(16, 32, 64), segments: int = 8):
        super().__init__()
        self.stem = nn.Sequential(_conv_bn(in_channels, widths[0], stride=2), nn.ReLU(inplace=True))
        self.blocks = nn.Sequential(
            *[ShiftBlock(cin, cout, 2, segments) for cin, cout in zip(widths[:1] + tuple(widths[:-1]), widths)]
        )
        self.out_channels = widths[-1]

    def forward(self, x):
        return self.blocks(self.stem(x)).mean(dim=(2, 3))


class RemovalModule(nn.Module):
    """MRM / SRM: a convolution expanding the channels, two feature shifts each followed by a convolution that
    recombines the shifted features, a channel reweighting (squeeze-excitation gate), and a convolution reducing
    back to the input's channels. Its output is what the caller subtracts from the frames.

    The expanding convolution has stride 2 and the output is upsampled back: few-channel convolutions at full
    resolution cost a CPU more than a whole stream (measured 5x), and what is removed (a background, a moving
    blob) is smooth at that scale."""

    def __init__(self, channels: int = 1, hidden: int = 8, segments: int = 8):
        super().__init__()
        self.segments = segments
        self.expand = nn.Conv2d(channels, hidden, 3, stride=2, padding=1)
        self.mix = nn.ModuleList(nn.Conv2d(hidden, hidden, 3, padding=1) for _ in range(2))
        self.gate = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(hidden, hidden, 1), nn.Sigmoid())
        self.reduce = nn.Conv2d(hidden, channels, 3, padding=1)

    def forward(self, x):
        h = torch.relu(self.expand(x))
        for conv in self.mix:
            h = torch.relu(conv(temporal_shift(h, self.segments, fold_div=4)))
        return F.interpolate(self.reduce(h * self.gate(h)), size=x.shape[-2:], mode="bilinear", align_corners=False)


@MODELS.register_module()
class DMSD(nn.Module):
    """Returns ``logits`` (N, classes), ``scenario`` features s (N, D) and ``motion`` features m (N, D)."""

    def __init__(
        self,
        num_classes: int = 5,
        in_channels: int = 1,
        segments: int = 8,
        widths=(16, 32, 64),
        removal_hidden: int = 8,
        dropout: float = 0.3,
    ):
        super().__init__()
        self.segments = segments
        self.motion_removal = RemovalModule(in_channels, removal_hidden, segments)
        self.scenario_removal = RemovalModule(in_channels, removal_hidden, segments)
        self.scenario_net = TemporalShiftNet(in_channels, tuple(widths), segments)
        self.motion_net = TemporalShiftNet(in_channels, tuple(widths), segments)
        self.feature_dim = widths[-1]
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(2 * widths[-1], num_classes))

    def forward(self, frames: torch.Tensor) -> dict:
        n, t = frames.shape[:2]
        x = frames.flatten(0, 1)
        moved = (frames - frames[:, :1]).flatten(0, 1)
        scenario_term = x - self.motion_removal(moved)  # u: motion removed
        motion_term = x - self.scenario_removal(x)  # v: scenario removed
        s = self.scenario_net(scenario_term).view(n, t, -1).mean(1)
        m = self.motion_net(motion_term).view(n, t, -1).mean(1)
        return {"logits": self.head(torch.cat([s, m], dim=1)), "scenario": s, "motion": m}


@MODELS.register_module()
class TSMClassifier(nn.Module):
    """The single temporal-shift stream baseline: one TemporalShiftNet on the frames, averaged over time."""

    def __init__(
        self, num_classes: int = 5, in_channels: int = 1, segments: int = 8, widths=(16, 32, 64), dropout: float = 0.3
    ):
        super().__init__()
        self.segments = segments
        self.net = TemporalShiftNet(in_channels, tuple(widths), segments)
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(widths[-1], num_classes))

    def forward(self, frames: torch.Tensor) -> dict:
        n, t = frames.shape[:2]
        return {"logits": self.head(self.net(frames.flatten(0, 1)).view(n, t, -1).mean(1))}
