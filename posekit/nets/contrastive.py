"""The contrastive module of LAC / ViA (thesis sec. 4.3.2, eq. 4.6-4.8; training details sec. 4.5.1): the pieces a
MoCo-style model calls, around a UNIK encoder E_V whose feature map is (N, M, C, T', V).

- :class:`ProjectionHead` is phi of eq. 4.8, a 2-layer MLP applied to the last axis, so one head maps both the
  sequence features E_Vs (N, C) and the per-frame features E_Vf (N, T', C); :func:`embed` makes both from a
  feature map (pooled as ``heads.global_pool`` / ``heads.frame_pool``) and projects them.
- :class:`NegativesQueue` is MoCo's FIFO memory of past keys: entries (D,) for the sequence queue, (T', D) for the
  frame queue of sec. 4.3.2 ("the queue stores the features of each frame").
- :class:`KeyEncoder` is the momentum encoder: mmengine's ``ExponentialMovingAverage`` (a frozen deep copy updated
  by ``update_parameters(query_encoder)``) with the momentum schedule of [52].
- :func:`sequence_infonce` (eq. 4.6) and :func:`frame_infonce` (eq. 4.7) with Sim of eq. 4.8; L_q is their sum.

Choices where the thesis and the authors' code differ (shared notes, methods.md), and why:
- Queue length 8,192 (sec. 4.5.1; the code and the text under eq. 4.7 say 65,536). Sec. 4.5.1 is the stated
  training recipe, and the frame queue holds T' vectors per entry (65,536 x 38 x 128 floats is 1.3 GB).
- Momentum m_base = 0.994 raised to 1 by a half-period cosine over training (sec. 4.5.1 and [52], Feichtenhofer et
  al. 2021, whose m_base it is); the code's constant 0.999 is ``total_steps=None`` with ``momentum=0.999``.
- Temperature 0.1 (sec. 4.5.1; the code 0.07).
- phi = Linear(256, 256), ReLU, Linear(256, 128): the thesis's 2-layer MLP with the code's 128-d output; hidden
  width = input width as in MoCo v2. No BatchNorm, so the same layers apply per frame and per sequence.
- Frame features as (..., T', D), not the code's (D, K, T): the layout of ``frame_pool`` and of the head's Linear,
  and the frame similarity summed over tau is then one dot product of flattened (T' * D) vectors.
- The loss denominator includes the positives (see :func:`sequence_infonce`).
- The sum over tau of eq. 4.7 is kept as printed: it scales the frame logits by up to T' (a temperature Temp/T'),
  so the losses use logsumexp, never exp, and frame features should be few. UNIK's feature map keeps one frame in
  4, the temporal sampling rate Table 4.7 found best; whether that rate was on top of the encoder's stride the
  thesis does not say.
"""

from __future__ import annotations

import math
from typing import Sequence

import torch
import torch.nn.functional as F
from mmengine.dist import all_gather
from mmengine.model import ExponentialMovingAverage
from torch import nn

from posekit.nets.heads import frame_pool, global_pool
from posekit.registry import MODELS


@MODELS.register_module()
class ProjectionHead(nn.Module):
    """phi of eq. 4.8: Linear, ReLU, Linear on the last axis: (..., in_channels) -> (..., out_channels)."""

    def __init__(self, in_channels: int = 256, out_channels: int = 128, hidden_channels: int | None = None):
        super().__init__()
        hidden_channels = hidden_channels or in_channels
        self.mlp = nn.Sequential(
            nn.Linear(in_channels, hidden_channels), nn.ReLU(inplace=True), nn.Linear(hidden_channels, out_channels)
        )

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.mlp(features)


def embed(feature_map: torch.Tensor, head: nn.Module) -> tuple[torch.Tensor, torch.Tensor]:
    """(N, M, C, T', V) UNIK feature map -> unit-norm phi(E_Vs) (N, D) and phi(E_Vf) (N, T', D), one head for both
    (eq. 4.8 names a single phi)."""
    sequence = head(global_pool(feature_map))
    frames = head(frame_pool(feature_map))
    return F.normalize(sequence, dim=-1), F.normalize(frames, dim=-1)


@MODELS.register_module()
class NegativesQueue(nn.Module):
    """A FIFO memory of ``size`` unit-norm keys, each of shape ``entry_shape``: ``(D,)`` for sequence features,
    ``(T', D)`` for frame features (each frame normalised; T', hence the window length, is then fixed). Buffers,
    so it moves with the model and is saved in its checkpoints. Starts with random unit vectors, as MoCo's does.

    ``enqueue(keys)`` writes a batch (B, *entry_shape) over the oldest entries, wrapping around the end; under
    distributed training it gathers every process's keys first, so all processes keep the same queue. MoCo enqueues
    one key per query: with P positives, enqueue one of them (the first, say), so that the queue holds distinct
    windows rather than P near-copies of each."""

    def __init__(self, size: int, entry_shape: Sequence[int]):
        super().__init__()
        if size < 1 or not entry_shape:
            raise ValueError(f"need a size >= 1 and an entry shape, got {size} and {entry_shape}")
        self.register_buffer("keys", F.normalize(torch.randn(size, *entry_shape), dim=-1))
        self.register_buffer("pointer", torch.zeros((), dtype=torch.long))

    @property
    def size(self) -> int:
        return self.keys.shape[0]

    @torch.no_grad()
    def enqueue(self, keys: torch.Tensor) -> None:
        keys = torch.cat(all_gather(keys.detach()), dim=0)
        if keys.shape[1:] != self.keys.shape[1:]:
            raise ValueError(f"queue entries are {tuple(self.keys.shape[1:])}, got keys {tuple(keys.shape)}")
        if len(keys) > self.size:
            raise ValueError(f"a batch of {len(keys)} keys does not fit a queue of {self.size}")
        slots = (self.pointer + torch.arange(len(keys), device=self.keys.device)) % self.size
        self.keys[slots] = F.normalize(keys.to(self.keys.dtype), dim=-1)
        self.pointer.copy_((self.pointer + len(keys)) % self.size)


class KeyEncoder(ExponentialMovingAverage):
    """The momentum (key) encoder: a frozen deep copy of the query encoder, k <- m k + (1 - m) q after each call of
    ``update_parameters(query_encoder)`` (mmengine's EMA; its first call copies, a no-op right after construction).

    ``momentum`` is m, the weight of the key encoder (mmengine's own ``momentum`` attribute is 1 - m). With
    ``total_steps`` K, m follows [52]'s half-period cosine from m_base to 1: m_k = 1 - (1 - m_base)(cos(pi k / K) +
    1) / 2 at update k; without it m is constant (the authors' code, 0.999). Buffers (BatchNorm statistics) are
    copied from the query encoder, as mmengine's EMA does: keys are computed in train mode, on batch statistics.

    mmengine's ``EMAHook`` does not fit here: it averages the whole runner model and swaps the average in for
    validation and checkpoints, while MoCo needs a separate key encoder used at every step."""

    def __init__(self, query_encoder: nn.Module, momentum: float = 0.994, total_steps: int | None = None):
        if not 0 < momentum < 1:
            raise ValueError(f"momentum must be in (0, 1), got {momentum}")
        super().__init__(query_encoder, momentum=1 - momentum)
        self.base_momentum, self.total_steps = momentum, total_steps

    def key_momentum(self, step: int) -> float:
        """m at update ``step``."""
        if not self.total_steps:
            return self.base_momentum
        progress = min(int(step) / self.total_steps, 1.0)
        return 1 - (1 - self.base_momentum) * (math.cos(math.pi * progress) + 1) / 2

    def avg_func(self, averaged_param: torch.Tensor, source_param: torch.Tensor, steps: int) -> None:
        averaged_param.lerp_(source_param, 1 - self.key_momentum(steps))


def multi_positive_nce(positive_logits: torch.Tensor, negative_logits: torch.Tensor) -> torch.Tensor:
    """-mean log(sum_p e^pos / (sum_p e^pos + sum_n e^neg)) from (N, P) and (N, K) logits; a logit of -inf is
    a key left out of its row (T-MOR's same-class texts, eq. 6.6)."""
    all_logits = torch.cat([positive_logits, negative_logits], dim=1)
    return (torch.logsumexp(all_logits, dim=1) - torch.logsumexp(positive_logits, dim=1)).mean()


def sequence_infonce(
    query: torch.Tensor, positives: torch.Tensor, negatives: torch.Tensor, temperature: float = 0.1
) -> torch.Tensor:
    """Eq. 4.6 with Sim of eq. 4.8: query (N, D), positives (N, P, D), negatives (K, D) -> scalar.

    Sim(x, y) = cos(x, y) / temperature (features are normalised here; phi is applied by the caller), and

        L = -mean_q log( sum_p e^Sim(q, k_p+) / (sum_p e^Sim(q, k_p+) + sum_n e^Sim(q, k_n-)) ).

    The denominator includes the positives, unlike eq. 4.6 as printed (negatives only). This is the InfoNCE of [122]
    and MoCo [66] that the thesis cites, with P positives (MIL-NCE's form): the negative log of the probability
    that a positive is picked among all keys, so L >= 0, near 0 once the positives outweigh the negatives. The
    printed ratio is no probability: it goes negative (down to log(K / P) - 2 / temperature, -12.4 with the
    thesis's 8,192, 4 and 0.1; with eq. 4.7's sum over tau, log(K / P) - 2 T' / temperature), its positive and
    negative terms decouple, and its gradient on the positives never fades however well they already match."""
    query, positives, negatives = (F.normalize(x, dim=-1) for x in (query, positives, negatives))
    positive_logits = torch.einsum("nd,npd->np", query, positives) / temperature
    negative_logits = query @ negatives.T / temperature
    return multi_positive_nce(positive_logits, negative_logits)


def frame_infonce(
    query: torch.Tensor, positives: torch.Tensor, negatives: torch.Tensor, temperature: float = 0.1
) -> torch.Tensor:
    """Eq. 4.7: as :func:`sequence_infonce` with the logit of a pair the sum over aligned frames tau of Sim:
    query (N, T', D), positives (N, P, T', D), negatives (K, T', D) -> scalar. Each frame is normalised (eq. 4.8 per
    frame); frame tau of the query meets frame tau of each key, so keys must share the query's timing."""
    query, positives, negatives = (F.normalize(x, dim=-1) for x in (query, positives, negatives))
    positive_logits = torch.einsum("ntd,nptd->np", query, positives) / temperature
    negative_logits = query.flatten(1) @ negatives.flatten(1).T / temperature  # sum over tau of per-frame cosines
    return multi_positive_nce(positive_logits, negative_logits)
