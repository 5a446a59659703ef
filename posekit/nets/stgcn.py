"""ST-GCN baseline (Yan et al., AAAI 2018) on a fixed skeleton graph built from a posekit layout.

Spatial configuration partitioning (paper sec. 3.6): each joint's neighbourhood (itself and the joints one bone
away) splits into the root (the joint itself), the centripetal group (neighbours closer to the body centre) and
the centrifugal group (farther). Closeness is the hop distance to the layout's centre joint, as in the released
code; the paper speaks of the skeleton's centre of gravity.

Normalisation: the paper writes Lambda_j^(-1/2) A_j Lambda_j^(-1/2) per partition with Lambda_j = row sums + 0.001;
on the directed partitions this divides an edge into a joint with an empty partition row by sqrt(0.001), a
~30x gain. We use the released code's normalisation instead: each joint takes the mean over its whole
neighbourhood, (A + I) / degree, split into the three partitions (their sum is row-stochastic).
A learnable edge-importance mask (paper sec. 3.6, initialised to ones) scales every partition in every block.
"""

from __future__ import annotations

from functools import partial

import numpy as np
import torch
from scipy.sparse.csgraph import shortest_path
from torch import nn

from posekit.errors import InputError
from posekit.layouts import Layout, get_layout
from posekit.nets.units import GraphNet, init_conv, inward_edges
from posekit.registry import MODELS

PARTITIONS = ("root", "centripetal", "centrifugal")


def spatial_partitions(layout: Layout | str) -> np.ndarray:
    """(3, V, V) matrices A[k, i, j]: weight of joint j in the output of joint i, for root/centripetal/centrifugal."""
    layout = get_layout(layout)
    if layout.centre is None:
        raise InputError(f"layout {layout.name!r} has no centre joint, which ST-GCN's partitions need")
    inward = inward_edges(layout)
    adjacency = inward + inward.T
    neighbourhood = adjacency + np.eye(layout.num_joints)
    mean_weights = neighbourhood / neighbourhood.sum(axis=1, keepdims=True)
    hops = shortest_path(adjacency, unweighted=True, directed=False)[layout.index(layout.centre)]
    closer = hops[None, :] < hops[:, None]  # [i, j]: j is nearer the centre than i
    farther = hops[None, :] > hops[:, None]
    partitions = [mean_weights * ~(closer | farther), mean_weights * closer, mean_weights * farther]
    return np.stack(partitions).astype(np.float32)


class GraphConv(nn.Module):
    """relu(BN(sum_k (x W_k) aggregated over (A_k * M_k))): one 1x1 conv W_k per partition, edge importance M_k."""

    def __init__(self, in_channels: int, out_channels: int, partitions: torch.Tensor, edge_importance: bool = True):
        super().__init__()
        self.register_buffer("partitions", partitions, persistent=False)  # rebuilt from the layout
        self.num_partitions = len(partitions)  # a Python int: len() of a tensor warns when traced (ONNX export)
        self.importance = nn.Parameter(torch.ones_like(partitions)) if edge_importance else None
        self.conv = init_conv(nn.Conv2d(in_channels, self.num_partitions * out_channels, 1))
        self.bn = nn.BatchNorm2d(out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, _, t, v = x.shape
        graph = self.partitions if self.importance is None else self.partitions * self.importance
        y = self.conv(x).view(n, self.num_partitions, -1, t, v)
        return torch.relu(self.bn(torch.einsum("nkctv,kwv->nctw", y, graph)))


@MODELS.register_module()
class STGCN(GraphNet):
    """ST-GCN (:class:`~posekit.nets.units.GraphNet`): a :class:`GraphConv` over the layout's spatial partitions in
    every block, scaled by the learnable edge-importance mask unless ``edge_importance`` is False."""

    network = "ST-GCN"
    graph = staticmethod(spatial_partitions)

    def __init__(
        self,
        layout: Layout | str | None = "coco-17",
        in_channels: int = 3,
        num_persons: int = 2,
        num_classes: int = 60,
        edge_importance: bool = True,
        head: str = "cls",
        dropout: float = 0.0,
        num_joints: int | None = None,
    ):
        graph_conv = partial(GraphConv, edge_importance=edge_importance)
        super().__init__(graph_conv, layout, in_channels, num_persons, num_classes, head, dropout, num_joints)
