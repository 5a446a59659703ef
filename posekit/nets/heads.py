"""Heads on a backbone feature map (N, M, C, T', V): clip classification and per-frame scores.

Both are linear maps of mean-pooled features, so a per-frame head sharing the classifier's weights gives
per-frame scores whose mean over time is the clip score (checked in the tests)."""

from __future__ import annotations

import math

import torch
from torch import nn


def global_pool(feature_map: torch.Tensor) -> torch.Tensor:
    """(N, M, C, T', V) -> (N, C): mean over persons, frames and joints (the 256-d embedding)."""
    return feature_map.mean(dim=(1, 3, 4))


def frame_pool(feature_map: torch.Tensor) -> torch.Tensor:
    """(N, M, C, T', V) -> (N, T', C): mean over persons and joints, one vector per (strided) frame."""
    return feature_map.mean(dim=(1, 4)).transpose(1, 2)


def _classifier(in_channels: int, num_classes: int) -> nn.Linear:
    fc = nn.Linear(in_channels, num_classes)
    nn.init.normal_(fc.weight, 0.0, math.sqrt(2.0 / num_classes))  # as in 2s-AGCN / UNIK
    nn.init.zeros_(fc.bias)
    return fc


class ClassifierHead(nn.Module):
    """(N, M, C, T', V) -> (N, classes)."""

    def __init__(self, in_channels: int, num_classes: int, dropout: float = 0.0):
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.fc = _classifier(in_channels, num_classes)

    def forward(self, feature_map: torch.Tensor) -> torch.Tensor:
        return self.fc(self.dropout(global_pool(feature_map)))


class FrameHead(nn.Module):
    """(N, M, C, T', V) -> (N, classes, T'): scores per strided frame, for action segmentation (LAC)."""

    def __init__(self, in_channels: int, num_classes: int, dropout: float = 0.0):
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.fc = _classifier(in_channels, num_classes)

    def forward(self, feature_map: torch.Tensor) -> torch.Tensor:
        return self.fc(self.dropout(frame_pool(feature_map))).transpose(1, 2)


HEADS = {"cls": ClassifierHead, "frame": FrameHead}


def make_head(kind: str, in_channels: int, num_classes: int, dropout: float = 0.0) -> nn.Module:
    if kind not in HEADS:
        raise ValueError(f"unknown head {kind!r}: use one of {', '.join(HEADS)}")
    return HEADS[kind](in_channels, num_classes, dropout)
