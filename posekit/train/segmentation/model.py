"""SkeletonSegmenter: per-frame multi-label action scores from a network with a per-frame head (UNIK
``head='frame'``), trained with binary cross-entropy per frame and class (thesis sec. 4.3.2)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from ...nets.units import STACK_STRIDES
from ...registry import MODELS
from ..recognizer import SkeletonRecognizer

TEMPORAL_STRIDE = math.prod(STACK_STRIDES)  # the stack's frames per output frame (4: T' = ceil(T / 4))


def upsample_frames(scores: torch.Tensor, frames: int, stride: int = TEMPORAL_STRIDE) -> torch.Tensor:
    """(..., T') -> (..., ``frames``): output frame j of a stride-s stack is centred on input frame s*j (its strided
    convolutions are padded symmetrically), so input frame t takes the linear interpolation at t/s between the
    output frames around it, and the frames after the last centre take its value."""
    position = torch.arange(frames, device=scores.device, dtype=torch.float32) / stride
    before = position.floor().long()
    after = (before + 1).clamp(max=scores.shape[-1] - 1)
    weight = (position - before).to(scores.dtype)
    return scores[..., before] * (1 - weight) + scores[..., after] * weight


@MODELS.register_module()
class SkeletonSegmenter(SkeletonRecognizer):
    """``net``'s per-frame logits (N, K, T') upsampled to the window's T frames (:func:`upsample_frames`), on batches
    of :func:`~posekit.train.segmentation.windows.collate_windows`.

    ``mode='loss'``: binary cross-entropy of every (frame, class) against ``frame_labels``, over the frames each
    window has (padding excluded), so frames may carry several classes or none (background); ``'predict'``: one
    dict per window (sequence ``id`` and ``index``, ``start``, per-frame sigmoid ``scores`` and ``labels``, both
    (T, K)) for :class:`~posekit.train.segmentation.metric.FrameSegmentation`. ``frozen_backbone``: linear
    evaluation, as in SkeletonRecognizer, whose ``net.*`` weights this model shares."""

    def forward(
        self,
        keypoints: torch.Tensor,
        label: torch.Tensor,
        mode: str = "loss",
        frame_labels=None,
        start=None,
        length=None,
        id=None,
        index=None,
    ):
        logits = upsample_frames(self.net(keypoints), keypoints.shape[2])
        if mode == "tensor":
            return logits
        present = torch.arange(logits.shape[2], device=logits.device)[None] < length.to(logits.device)[:, None]
        if mode == "loss":
            loss = F.binary_cross_entropy_with_logits(logits.float(), frame_labels.transpose(1, 2), reduction="none")
            return {"loss": loss.mean(dim=1)[present].mean()}
        scores, truth = logits.float().sigmoid().transpose(1, 2).cpu(), frame_labels.cpu().bool()
        return [
            {"id": sequence, "index": int(i), "start": int(s), "scores": window[:n], "labels": labels[:n]}
            for sequence, i, s, window, labels, n in zip(id, index, start, scores, truth, length.tolist())
        ]
