"""The SSTA-PRS student's head: RTMPose's SimCC keypoint head plus an anchor-pose classifier (thesis eq. 3.7).

LCRNet++ (the thesis's student) classifies each person box into K anchor poses and regresses the joints from the
chosen anchor; SSTA-PRS fine-tunes that classification with the anchor class of the SST-A pseudo pose. Here the
student is an mmpose top-down model, and the classification is an added branch: the backbone's last feature map,
average-pooled, through one linear layer to K logits, trained with cross-entropy ``-log u(Class_P)`` weighted by
``anchor_loss_weight``, beside the keypoint loss. The class comes from the pseudo-label annotation
(``anchor_class``, posekit.refine.pseudo_labels), which mmpose's CocoDataset keeps in ``raw_ann_info``.

Importing this module registers ``AnchorPoseRTMCCHead`` in mmpose's MODELS registry; configs name it through
``custom_imports = dict(imports=["posekit.nets.student_head"])``.
"""

from __future__ import annotations

from ..compat import ensure_mmpose_importable

ensure_mmpose_importable()

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from mmpose.models.heads import RTMCCHead  # noqa: E402
from mmpose.registry import MODELS  # noqa: E402
from torch import nn  # noqa: E402

NO_CLASS = -1  # an instance without an anchor class (not a pseudo label) adds nothing to the loss


@MODELS.register_module()
class AnchorPoseRTMCCHead(RTMCCHead):
    def __init__(self, *, num_anchors: int, anchor_loss_weight: float = 1.0, **kwargs):
        super().__init__(**kwargs)
        self.num_anchors = num_anchors
        self.anchor_loss_weight = anchor_loss_weight
        self.anchor_classifier = nn.Linear(self.in_channels, num_anchors)

    def anchor_logits(self, feats) -> torch.Tensor:
        return self.anchor_classifier(feats[-1].mean(dim=(2, 3)))

    def loss(self, feats, batch_data_samples, train_cfg={}) -> dict:
        losses = super().loss(feats, batch_data_samples, train_cfg)
        logits = self.anchor_logits(feats)
        labels = torch.tensor(
            [sample.metainfo.get("raw_ann_info", {}).get("anchor_class", NO_CLASS) for sample in batch_data_samples],
            device=logits.device,
        )
        labelled = labels != NO_CLASS
        if labelled.any():
            loss = F.cross_entropy(logits[labelled], labels[labelled])
            accuracy = (logits[labelled].argmax(1) == labels[labelled]).float().mean()
        else:  # keeps the graph whole (no unused parameters) while adding nothing
            loss = accuracy = logits.sum() * 0
        losses.update(loss_anchor=self.anchor_loss_weight * loss, acc_anchor=accuracy.detach())
        return losses
