"""DMSD's feature decoupling losses (RatPose / DMSD, eqs. 3-5): scenario contrast and motion clustering."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def scenario_contrast_loss(features: torch.Tensor, groups: torch.Tensor, temperature: float = 0.1) -> torch.Tensor:
    """Eq. 3: -log(exp(sim(s, s+)) / sum over negatives s' of exp(sim(s, s'))), sim = cosine / temperature.

    Positives of a sample are the other samples of its group (same scenario and session), negatives all samples
    of other groups; as written in the paper the denominator sums the negatives only. The loss is averaged over
    every (anchor, positive) pair; a batch without any such pair (or without negatives) gives 0."""
    z = F.normalize(features, dim=1)
    sim = z @ z.t() / temperature
    same = groups[:, None] == groups[None, :]
    positive = same & ~torch.eye(len(groups), dtype=torch.bool, device=features.device)
    negative = ~same
    log_negatives = torch.logsumexp(sim.masked_fill(~negative, float("-inf")), dim=1)  # (N,), -inf: no negative
    usable = positive & negative.any(dim=1, keepdim=True)
    if not usable.any():
        return features.sum() * 0.0
    return (log_negatives[:, None] - sim)[usable].mean()


class MotionClusteringLoss(nn.Module):
    """Eqs. 4-5: trainable centres, ``per_class`` of them per class; D(m|c) is the L2 distance from m to the
    nearest centre of class c, and the loss is the cross-entropy of softmax(-D(m|.)) with the true class."""

    def __init__(self, num_classes: int, dim: int, per_class: int = 1):
        super().__init__()
        self.centres = nn.Parameter(torch.randn(num_classes, per_class, dim))

    def distances(self, features: torch.Tensor) -> torch.Tensor:
        """(N, classes) distance of each feature to the nearest centre of each class."""
        diff = features[:, None, None, :] - self.centres[None]
        return diff.pow(2).sum(-1).clamp_min(1e-12).sqrt().amin(dim=2)

    def forward(self, features: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(-self.distances(features), labels)
