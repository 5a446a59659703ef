"""CNN-LSTM of "LSTM Self-Supervision for Detailed Behavior Analysis" (Brattoli, Buechler et al., CVPR 2017).

A posture CNN encodes each crop of the animal into a posture vector (the paper's fc6, ``x_t = phi(d_t)``); an LSTM
runs over the postures of a sequence and its last output is the behaviour vector (``a_t``, eq. 1); a linear head
on it tells a real sequence from a permuted one. Only the head is specific to the training task: posture and
behaviour vectors are the embeddings. The paper stacks AlexNet's conv1-fc6 with a 512-unit LSTM; this CNN is a
small stack sized for grey crops of 32-96 pixels, so that training runs on a CPU.

``difference_input`` (default, not in the paper): the LSTM reads each posture beside its change from the previous
frame. Trained from scratch for the same 1,170 iterations on rendered bouts, the plain LSTM stayed at chance
(51.9% real-vs-permuted on unseen bouts) where this one reached 85.1% (docs/benchmarks.md); the paper started
from a pre-trained posture CNN. ``difference_input=False`` is the paper's LSTM.
"""

from __future__ import annotations

import torch
from torch import nn

from ..registry import MODELS


def _conv(in_channels: int, out_channels: int, kernel: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel, stride=2, padding=kernel // 2, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    )


@MODELS.register_module()
class CNNLSTM(nn.Module):
    """``forward(crops)``: (N, T, C, H, W) -> (N, num_classes) logits from the last LSTM output.

    ``channels``: widths of the stride-2 conv layers; ``grid``: the spatial size the last map is pooled to before
    fc6 (a grid, not a global mean, so that where a limb is stays part of the posture)."""

    def __init__(
        self,
        in_channels: int = 1,
        channels=(32, 64, 128, 128),
        grid: int = 4,
        posture_dim: int = 256,
        hidden: int = 512,
        num_classes: int = 2,
        difference_input: bool = True,
    ):
        super().__init__()
        self.posture_dim, self.hidden, self.difference_input = posture_dim, hidden, difference_input
        widths = (in_channels, *channels)
        self.cnn = nn.Sequential(
            *[_conv(a, b, 5 if i == 0 else 3) for i, (a, b) in enumerate(zip(widths, widths[1:]))],
            nn.AdaptiveAvgPool2d(grid),
            nn.Flatten(),
            nn.Linear(channels[-1] * grid * grid, posture_dim),
            nn.ReLU(inplace=True),
        )
        self.lstm = nn.LSTM(posture_dim * (2 if difference_input else 1), hidden, batch_first=True)
        self.head = nn.Linear(hidden, num_classes)

    def posture(self, crops: torch.Tensor) -> torch.Tensor:
        """(N, T, C, H, W) crops -> (N, T, posture_dim) posture vectors (fc6)."""
        n, t = crops.shape[:2]
        return self.cnn(crops.flatten(0, 1)).view(n, t, -1)

    def behaviour_from_posture(self, postures: torch.Tensor) -> torch.Tensor:
        """(N, T, posture_dim) -> (N, hidden): the LSTM output after the last frame."""
        if self.difference_input:  # the first frame's change is zero
            change = torch.cat([torch.zeros_like(postures[:, :1]), postures.diff(dim=1)], dim=1)
            postures = torch.cat([postures, change], dim=2)
        outputs, _ = self.lstm(postures)
        return outputs[:, -1]

    def behaviour(self, crops: torch.Tensor) -> torch.Tensor:
        return self.behaviour_from_posture(self.posture(crops))

    def forward(self, crops: torch.Tensor) -> torch.Tensor:
        return self.head(self.behaviour(crops))
