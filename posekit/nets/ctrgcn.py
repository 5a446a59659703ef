"""CTR-GCN (Chen et al., ICCV 2021): channel-wise topology refinement graph convolution on a posekit layout.

The stack, residuals, input BN and heads are UNIK's and ST-GCN's (units.py); a block is
relu(MS-TCN(unit_gcn(x)) + residual(x)). unit_gcn = relu(BN(sum_k CTR-GC_k(x)) + down(x)) over three subsets k.
CTR-GC refines a topology A_k shared by all channels, learnable and initialised from the layout's
graph, into one topology per channel: with x' the input averaged over frames,
Q_k[c, i, j] = A_k[i, j] + alpha * xi_k(tanh(phi_k(x'_i) - psi_k(x'_j)))[c], and the output of joint i in channel c
is sum_j Q_k[c, i, j] T_k(x)[c, j], with phi, psi 1x1 convs to R channels, xi back to C and T the feature transform.
The MS-TCN has four branches of C/4 channels concatenated: 1x1 conv, BN, ReLU, then a 5x1 conv (dilation 1 or 2)
+ BN, or a 3x1 max-pool + BN; and a plain 1x1 conv + BN.

Where the paper is silent we follow the authors' released code (tools/compare_ctrgcn.py checks logits against it):
- the subsets are identity, inward (each joint sums its children) and outward (each joint takes its parent,
  divided by the parent's child count): the code's column-normalised graph, built here from the layout's bones;
- R = C_in / 8, and 8 for the input block (C_in <= 16; the code's rule gives 0 for 2-D joints, pyskl's gives 8);
- alpha (one per block) starts at 0 and unit_gcn's BN scale at 1e-6, so unit_gcn starts as relu(down(x));
  the MS-TCN's BN scales are drawn from N(1, 0.02); no ReLU after its concatenation (pyskl adds one).
The three subsets run in one pass: phi and psi of every subset are one conv, T one conv, xi one grouped conv.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from posekit.layouts import Layout
from posekit.nets.units import GraphNet, TemporalConv, init_conv, inward_edges, shortcut
from posekit.registry import MODELS

SUBSETS = ("identity", "inward", "outward")
TEMPORAL_KERNEL = 5
TEMPORAL_DILATIONS = (1, 2)


def ctrgcn_subsets(layout: Layout) -> np.ndarray:
    """(3, V, V) A[k, i, j]: weight of joint j in the output of joint i, for identity / inward / outward.

    Each edge matrix is divided by its column sums (the released code's ``normalize_digraph``)."""
    inward = inward_edges(layout)
    return np.stack([np.eye(layout.num_joints), _column_normalised(inward), _column_normalised(inward.T)]).astype(
        np.float32
    )


def _column_normalised(edges: np.ndarray) -> np.ndarray:
    return edges / np.maximum(edges.sum(axis=0, keepdims=True), 1.0)


def _init_per_subset(conv: nn.Conv2d, subsets: int) -> nn.Conv2d:
    """Kaiming init (fan out) of each subset's slice of a batched conv, as if each were its own conv."""
    for chunk in conv.weight.detach().chunk(subsets):
        nn.init.kaiming_normal_(chunk, mode="fan_out")
    nn.init.zeros_(conv.bias)
    return conv


class ChannelTopologyGraphConv(nn.Module):
    """unit_gcn: relu(BN(sum_k CTR-GC_k(x)) + down(x)) on (N, C, T, V), all subsets k at once."""

    def __init__(self, in_channels: int, out_channels: int, subsets: torch.Tensor):
        super().__init__()
        k = self.num_subsets = len(subsets)  # a Python int: len() of a tensor warns when traced (ONNX export)
        self.relation_channels = 8 if in_channels <= 16 else in_channels // 8
        self.topology = nn.Parameter(subsets.clone())  # A_k, shared by the channels
        self.alpha = nn.Parameter(torch.zeros(1))
        # phi_1..phi_k then psi_1..psi_k, on the frame-averaged input
        self.correlate = _init_per_subset(nn.Conv2d(in_channels, 2 * k * self.relation_channels, 1), 2 * k)
        self.refine = _init_per_subset(nn.Conv2d(k * self.relation_channels, k * out_channels, 1, groups=k), k)
        self.transform = _init_per_subset(nn.Conv2d(in_channels, k * out_channels, 1), k)
        self.bn = nn.BatchNorm2d(out_channels)
        nn.init.constant_(self.bn.weight, 1e-6)
        self.down = shortcut(in_channels, out_channels)

    def topologies(self, x: torch.Tensor) -> torch.Tensor:
        """Q_k for every sample: (N, C_in, T, V) -> (N, K, C_out, V, V)."""
        n, _, _, v = x.shape
        k = self.num_subsets
        phi, psi = self.correlate(x.mean(2, keepdim=True)).view(n, 2, k * self.relation_channels, v).unbind(1)
        refinement = self.refine(torch.tanh(phi.unsqueeze(-1) - psi.unsqueeze(-2))).view(n, k, -1, v, v)
        return refinement * self.alpha + self.topology[:, None]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, _, t, v = x.shape
        features = self.transform(x).view(n, self.num_subsets, -1, t, v)
        y = (features @ self.topologies(x).transpose(-1, -2)).sum(1)  # sum_k sum_j Q_k[c, i, j] T_k(x)[c, t, j]
        return torch.relu(self.bn(y) + self.down(x))


class MultiScaleTemporalConv(nn.Module):
    """MS-TCN: four branches of C/4 channels over time, concatenated; ``stride`` subsamples frames in each."""

    def __init__(self, channels: int, stride: int = 1):
        super().__init__()
        width = channels // 4

        def reduce() -> list[nn.Module]:
            return [init_conv(nn.Conv2d(channels, width, 1)), nn.BatchNorm2d(width), nn.ReLU()]

        dilated = [
            nn.Sequential(*reduce(), TemporalConv(width, width, TEMPORAL_KERNEL, stride, dilation))
            for dilation in TEMPORAL_DILATIONS
        ]
        pooled = nn.Sequential(*reduce(), nn.MaxPool2d((3, 1), (stride, 1), (1, 0)), nn.BatchNorm2d(width))
        pointwise = nn.Sequential(init_conv(nn.Conv2d(channels, width, 1, stride=(stride, 1))), nn.BatchNorm2d(width))
        self.branches = nn.ModuleList([*dilated, pooled, pointwise])
        for module in self.modules():
            if isinstance(module, nn.BatchNorm2d):
                nn.init.normal_(module.weight, 1.0, 0.02)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([branch(x) for branch in self.branches], dim=1)


def multi_scale_temporal(channels: int, stride: int, _: int) -> nn.Module:
    """The stack's temporal unit: an MS-TCN, whose dilations are its own (the stack's are not used)."""
    return MultiScaleTemporalConv(channels, stride)


@MODELS.register_module()
class CTRGCN(GraphNet):
    """CTR-GCN (:class:`~posekit.nets.units.GraphNet`): a :class:`ChannelTopologyGraphConv` over the layout's three
    subsets and a :class:`MultiScaleTemporalConv` in every block."""

    network = "CTR-GCN"
    graph = staticmethod(ctrgcn_subsets)
    temporal_unit = staticmethod(multi_scale_temporal)

    def __init__(
        self,
        layout: Layout | str | None = "coco-17",
        in_channels: int = 3,
        num_persons: int = 2,
        num_classes: int = 60,
        head: str = "cls",
        dropout: float = 0.0,
        num_joints: int | None = None,
    ):
        super().__init__(
            ChannelTopologyGraphConv, layout, in_channels, num_persons, num_classes, head, dropout, num_joints
        )
