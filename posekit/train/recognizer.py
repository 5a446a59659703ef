"""SkeletonRecognizer: the mmengine model around a skeleton network (UNIK, ST-GCN...)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from mmengine.model import BaseModel

from ..registry import MODELS


@MODELS.register_module()
class SkeletonRecognizer(BaseModel):
    """Cross-entropy training of ``net`` on batches from :func:`posekit.data.collate_clips`.

    ``mode='loss'`` returns the loss, ``'predict'`` one dict per clip (id, index, label, softmax scores), which
    the :class:`~posekit.train.metric.ClipAccuracy` metric consumes. ``frozen_backbone`` keeps everything but the
    classifier fixed (linear evaluation): no gradients, and batch norms stay in eval mode."""

    def __init__(self, net: dict, frozen_backbone: bool = False, data_preprocessor: dict | None = None):
        super().__init__(data_preprocessor=data_preprocessor)
        self.net = MODELS.build(net)
        self.frozen_backbone = frozen_backbone
        if frozen_backbone:
            for name, param in self.net.named_parameters():
                param.requires_grad = name.startswith("head.")

    def train(self, mode: bool = True):
        super().train(mode)
        if self.frozen_backbone:
            for name, module in self.net.named_children():
                if name != "head":
                    module.eval()
        return self

    def forward(
        self, keypoints: torch.Tensor, label: torch.Tensor, mode: str = "loss", id=None, index=None, length=None
    ):
        logits = self.net(keypoints)
        if mode == "loss":
            return {"loss": F.cross_entropy(logits, label)}
        if mode == "predict":
            scores = logits.float().softmax(dim=1)
            return [
                {"id": clip_id, "index": int(i), "label": int(y), "scores": s}
                for clip_id, i, y, s in zip(id, index, label, scores)
            ]
        return logits
