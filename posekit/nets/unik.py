"""UNIK: the topology-free skeleton network (Yang et al., BMVC 2021; thesis ch. 3, eqs. 3.8-3.12).

Each block is relu(T-LSU(S-LSU(x)) + residual). The S-LSU (eq. 3.9) mixes joints with, per head i, a learnable
dependency matrix W_i (no skeleton prior, uniform init, eq. 3.10) plus a data-dependent attention map A_i
(eq. 3.11), then embeds channels with a 1x1 conv E_i; heads are summed. Nothing in the model knows which
joint is which: any joint order, count (V), dimension (C) or stream (joint / bone) works.

Where the thesis is not explicit we follow the authors' released code (see shared notes, methods.md):
- eq. 3.11 names neither the softmax axis nor a scale: the code divides by C_e*T and normalises over the first
  (input-joint) axis, so every column of A_i sums to 1 and each output joint takes a weighted mean of inputs;
- the S-LSU has its own residual (1x1 conv + BN when channels change) and a BN whose scale starts at 1e-6.
The sliding window tau (eq. 3.9's tau*V nodes) is collapsed back to V nodes with a learnable 1x1 conv over the
tau window positions, as in MS-G3D, which the thesis cites for it; the released configs all use tau = 1.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from posekit.nets.heads import make_head
from posekit.nets.units import STACK_CHANNELS, DataBN, SkeletonNet, build_stack, init_conv, shortcut
from posekit.registry import MODELS

# T-LSU dilations per block as listed in the thesis (sec. 3.7.1); the released code used 1 in every block.
THESIS_DILATIONS = (1, 3, 3, 3, 3, 1, 1, 1, 1, 1)


def unfold_window(x: torch.Tensor, window: int) -> torch.Tensor:
    """(N, C, T, V) -> (N, C, T, window*V): frame t sees frames t-(w-1)//2 .. t+w//2 (zeros beyond the ends).

    Node k*V + v of the window is joint v of its k-th frame."""
    if window == 1:
        return x
    n, c, t, v = x.shape
    x = F.pad(x, (0, 0, (window - 1) // 2, window // 2))
    return x.unfold(2, window, 1).permute(0, 1, 2, 4, 3).reshape(n, c, t, window * v)


class SpatialDependencyUnit(nn.Module):
    """S-LSU (eq. 3.9): relu(BN(sum_i E_i (x (W_i + A_i))) + residual(x)), all heads in one pass.

    Heads are batched: W is stacked as (H, tau*V, tau*V), one 1x1 conv gives the attention embeddings of
    every head, and E_1..E_H are the column blocks of one 1x1 conv over the H concatenated head outputs
    (sum_i E_i y_i = [E_1 .. E_H] [y_1; ..; y_H])."""

    def __init__(self, in_channels: int, out_channels: int, num_joints: int, num_heads: int = 3, window: int = 1):
        super().__init__()
        if num_heads < 1 or window < 1:
            raise ValueError(f"need num_heads >= 1 and window >= 1, got {num_heads} and {window}")
        self.num_heads, self.window, self.embed_channels = num_heads, window, max(out_channels // 4, 1)
        nodes = num_joints * window
        self.dependency = nn.Parameter(torch.empty(num_heads, nodes, nodes))
        for w in self.dependency:  # eq. 3.10, per matrix: bound = sqrt(6 / ((1 + a^2) fan_in)), fan_in = tau*V
            nn.init.kaiming_uniform_(w, a=math.sqrt(5))
        self.embed = init_conv(nn.Conv2d(in_channels, 2 * num_heads * self.embed_channels, 1))  # E_theta, E_phi
        self.mix = nn.Conv2d(num_heads * in_channels, out_channels, 1)  # E_1 .. E_H side by side
        nn.init.normal_(self.mix.weight, 0.0, math.sqrt(2.0 / (out_channels * in_channels * num_heads)))
        nn.init.zeros_(self.mix.bias)
        # Back from tau*V to V nodes: a 1x1 conv over (channel, window position) pairs.
        self.collapse = init_conv(nn.Conv2d(window * out_channels, out_channels, 1)) if window > 1 else None
        self.bn = nn.BatchNorm2d(out_channels)
        nn.init.constant_(self.bn.weight, 1e-6)  # the unit starts as its residual
        self.residual = shortcut(in_channels, out_channels)

    def attention(self, x: torch.Tensor) -> torch.Tensor:
        """A_i (eq. 3.11) for every head: (N, C, T, tau*V) -> (N, H, tau*V, tau*V), columns summing to 1."""
        n, _, t, nodes = x.shape
        theta, phi = self.embed(x).view(n, 2, self.num_heads, self.embed_channels * t, nodes).unbind(1)
        scores = torch.einsum("nhku,nhkv->nhuv", theta, phi) / (self.embed_channels * t)
        return scores.softmax(dim=-2)

    def aggregate(self, x: torch.Tensor) -> torch.Tensor:
        """sum_i E_i (x (W_i + A_i)), collapsed to V nodes: (N, C, T, V) -> (N, C_out, T, V), before BN."""
        n, c, t, v = x.shape
        x = unfold_window(x, self.window)
        mixing = self.dependency + self.attention(x)  # (N, H, tau*V, tau*V)
        y = self.mix(torch.einsum("nctu,nhuv->nhctv", x, mixing).reshape(n, self.num_heads * c, t, -1))
        if self.collapse is not None:
            y = y.view(n, -1, t, self.window, v).transpose(2, 3).reshape(n, -1, t, v)
            y = self.collapse(y)
        return y

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.bn(self.aggregate(x)) + self.residual(x))


@MODELS.register_module()
class UNIK(SkeletonNet):
    """UNIK on (N, C, T, V, M) skeletons -> (N, classes) with ``head='cls'``, (N, classes, ceil(T/4)) with 'frame'.

    ``window`` is the thesis's tau; ``dilations`` the T-LSU dilation of each of the 10 blocks."""

    def __init__(
        self,
        in_channels: int = 2,
        num_joints: int = 17,
        num_persons: int = 2,
        num_classes: int = 320,
        num_heads: int = 3,
        window: int = 1,
        dilations=THESIS_DILATIONS,
        head: str = "cls",
        dropout: float = 0.0,
    ):
        def spatial(_: int, c_in: int, c_out: int) -> nn.Module:
            return SpatialDependencyUnit(c_in, c_out, num_joints, num_heads, window)

        blocks = build_stack(in_channels, spatial, dilations)
        super().__init__(
            DataBN(in_channels, num_joints, num_persons),
            blocks,
            make_head(head, STACK_CHANNELS[-1], num_classes, dropout),
        )
