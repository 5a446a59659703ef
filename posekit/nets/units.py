"""Units shared by UNIK, ST-GCN and CTR-GCN: input normalisation, temporal convolution, residuals, the 10-block
stack and, for the fixed-graph networks (ST-GCN, CTR-GCN), their base :class:`GraphNet` and the layout they read
their graph from.

The three networks are the same stack (pyskl / 2s-AGCN layout): ``data_bn``, 10 blocks of
``relu(temporal(spatial(x)) + residual(x))`` with channels 64x4, 128x3, 256x3 and temporal stride 2 at blocks
5 and 8, then a head. They differ in the spatial unit of a block, which the caller supplies, and CTR-GCN also in
its temporal unit.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import torch
from torch import nn

from posekit.errors import InputError
from posekit.layouts import Layout, get_layout
from posekit.nets.heads import global_pool, make_head

STACK_CHANNELS = (64, 64, 64, 64, 128, 128, 128, 256, 256, 256)
STACK_STRIDES = (1, 1, 1, 1, 2, 1, 1, 2, 1, 1)
TEMPORAL_KERNEL = 9


def init_conv(conv: nn.Conv2d) -> nn.Conv2d:
    nn.init.kaiming_normal_(conv.weight, mode="fan_out")
    if conv.bias is not None:
        nn.init.zeros_(conv.bias)
    return conv


class DataBN(nn.Module):
    """BatchNorm1d over the M*V*C coordinates of a frame, then persons folded into the batch.

    (N, C, T, V, M) -> (N*M, C, T, V). The only normalisation inside the model: each (person, joint, channel)
    gets its own statistics, so the model is built for fixed M, V and C."""

    def __init__(self, in_channels: int, num_joints: int, num_persons: int):
        super().__init__()
        self.expected = (in_channels, num_joints, num_persons)
        self.bn = nn.BatchNorm1d(num_persons * num_joints * in_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # Not while tracing (ONNX export): shapes are traced tensors there, and the graph's input fixes C, V and M.
        if not torch.jit.is_tracing() and (x.dim() != 5 or (x.shape[1], x.shape[3], x.shape[4]) != self.expected):
            c, v, m = self.expected
            raise InputError(f"expected skeletons shaped (N, C={c}, T, V={v}, M={m}), got {tuple(x.shape)}")
        n, c, t, v, m = x.shape
        x = self.bn(x.permute(0, 4, 3, 1, 2).reshape(n, m * v * c, t))
        return x.view(n, m, v, c, t).permute(0, 1, 3, 4, 2).reshape(n * m, c, t, v)


class TemporalConv(nn.Module):
    """Conv2d with a (k, 1) kernel over time, then BatchNorm (the T-LSU, eq. 3.12; ST-GCN's temporal conv).

    Padding (k-1)*d//2 keeps T at stride 1 and gives ceil(T/s) frames at stride s."""

    def __init__(
        self, in_channels: int, out_channels: int, kernel: int = TEMPORAL_KERNEL, stride: int = 1, dilation: int = 1
    ):
        super().__init__()
        self.conv = init_conv(
            nn.Conv2d(
                in_channels,
                out_channels,
                (kernel, 1),
                stride=(stride, 1),
                padding=((kernel - 1) * dilation // 2, 0),
                dilation=(dilation, 1),
            )
        )
        self.bn = nn.BatchNorm2d(out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn(self.conv(x))


def shortcut(in_channels: int, out_channels: int, stride: int = 1) -> nn.Module:
    """Identity when the shape is kept, else a strided 1x1 conv + BN that matches channels and frames."""
    if in_channels == out_channels and stride == 1:
        return nn.Identity()
    return TemporalConv(in_channels, out_channels, kernel=1, stride=stride)


class Block(nn.Module):
    """relu(temporal(spatial(x)) + residual(x)); the first block of the stack has no residual."""

    def __init__(self, spatial: nn.Module, temporal: nn.Module, residual: nn.Module | None):
        super().__init__()
        self.spatial, self.temporal, self.residual = spatial, temporal, residual

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.temporal(self.spatial(x))
        if self.residual is not None:
            y = y + self.residual(x)
        return torch.relu(y)


SpatialFactory = Callable[[int, int, int], nn.Module]  # (block index, in channels, out channels) -> unit
TemporalFactory = Callable[[int, int, int], nn.Module]  # (channels, stride, dilation) -> unit


def temporal_conv(channels: int, stride: int, dilation: int) -> nn.Module:
    return TemporalConv(channels, channels, stride=stride, dilation=dilation)


def build_stack(
    in_channels: int,
    make_spatial: SpatialFactory,
    dilations=(1,) * len(STACK_CHANNELS),
    make_temporal: TemporalFactory = temporal_conv,
) -> nn.Sequential:
    if len(dilations) != len(STACK_CHANNELS):
        raise ValueError(f"need one temporal dilation per block ({len(STACK_CHANNELS)}), got {len(dilations)}")
    blocks, c_in = [], in_channels
    for i, (c_out, stride, dilation) in enumerate(zip(STACK_CHANNELS, STACK_STRIDES, dilations)):
        blocks.append(
            Block(
                make_spatial(i, c_in, c_out),
                make_temporal(c_out, stride, dilation),
                shortcut(c_in, c_out, stride) if i else None,
            )
        )
        c_in = c_out
    return nn.Sequential(*blocks)


class SkeletonNet(nn.Module):
    """data_bn -> blocks -> head, with the backbone's feature map and pooled embedding exposed.

    Input (N, C, T, V, M); ``feature_map`` gives (N, M, C', T', V), ``features`` the pooled (N, C') embedding
    (mean over T', V and persons), ``forward`` what the head makes of the feature map."""

    def __init__(self, data_bn: DataBN, blocks: nn.Sequential, head: nn.Module):
        super().__init__()
        self.data_bn, self.blocks, self.head = data_bn, blocks, head

    def feature_map(self, x: torch.Tensor) -> torch.Tensor:
        n, m = x.shape[0], x.shape[-1]
        y = self.blocks(self.data_bn(x))
        return y.view(n, m, *y.shape[1:])

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return global_pool(self.feature_map(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.feature_map(x))


class GraphNet(SkeletonNet):
    """A network on the fixed graph of a layout's bones (ST-GCN, CTR-GCN), on (N, C, T, V, M) skeletons of
    ``layout`` (V = its joint count); same stack and heads as UNIK. ``num_joints``, when given (configs fill it from
    the data), must agree with the layout.

    A subclass names itself (``network``, in messages) and gives ``graph``, the (K, V, V) graph of a layout, and
    ``temporal_unit``, the stack's temporal unit; ``spatial_unit(in channels, out channels, graph)`` makes each
    block's spatial unit."""

    network: str
    graph: Callable[[Layout], np.ndarray]
    temporal_unit: TemporalFactory = staticmethod(temporal_conv)

    def __init__(
        self,
        spatial_unit: Callable[[int, int, torch.Tensor], nn.Module],
        layout: Layout | dict | str | None,
        in_channels: int,
        num_persons: int,
        num_classes: int,
        head: str,
        dropout: float,
        num_joints: int | None,
    ):
        layout = graph_layout(self.network, layout, num_joints)
        adjacency = torch.from_numpy(self.graph(layout))

        def spatial(_: int, c_in: int, c_out: int) -> nn.Module:
            return spatial_unit(c_in, c_out, adjacency)

        super().__init__(
            DataBN(in_channels, layout.num_joints, num_persons),
            build_stack(in_channels, spatial, make_temporal=self.temporal_unit),
            make_head(head, STACK_CHANNELS[-1], num_classes, dropout),
        )


def graph_layout(network: str, layout: Layout | dict | str | None, num_joints: int | None) -> Layout:
    """The layout whose bones give a fixed-graph network (ST-GCN, CTR-GCN) its graph: a name, a layout or its dict
    (from a config). ``num_joints``, when given (configs fill it from the data), must agree with it."""
    if layout is None:
        raise InputError(f"{network} needs a joint layout with bones (its fixed graph); this data has none")
    layout = Layout.from_dict(layout) if isinstance(layout, dict) else get_layout(layout)
    if num_joints is not None and num_joints != layout.num_joints:
        raise InputError(f"{network}: layout {layout.name!r} has {layout.num_joints} joints, the data {num_joints}")
    return layout


def inward_edges(layout: Layout) -> np.ndarray:
    """(V, V) with 1 at [parent, child] for every bone: the edges along which joints pass messages to the centre."""
    edges = np.zeros((layout.num_joints, layout.num_joints))
    for child, parent in layout.bones:
        edges[parent, child] = 1.0
    return edges
