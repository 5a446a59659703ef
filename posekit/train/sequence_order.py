"""SequenceOrderModel: the mmengine model of LSTM self-supervision, real vs permuted sequences of crops
(:class:`~posekit.train.sequence_pairs.PermutedSequencePairs`) around a CNN-LSTM."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from mmengine.model import BaseModel

from ..registry import MODELS


@MODELS.register_module()
class SequenceOrderModel(BaseModel):
    """The surrogate task around a :class:`~posekit.nets.cnn_lstm.CNNLSTM`: cross-entropy of real (1) vs permuted (0).
    Crops arrive as uint8 and are scaled to [-0.5, 0.5] here."""

    def __init__(self, net: dict, data_preprocessor: dict | None = None):
        super().__init__(data_preprocessor=data_preprocessor)
        self.net = MODELS.build(net)

    @staticmethod
    def scale(crops: torch.Tensor) -> torch.Tensor:
        return crops.float() / 255.0 - 0.5

    def forward(self, crops: torch.Tensor, label: torch.Tensor, mode: str = "loss"):
        logits = self.net(self.scale(crops))
        if mode == "loss":
            return {
                "loss": F.cross_entropy(logits, label),
                "accuracy": (logits.argmax(1) == label).float().mean().detach(),
            }
        if mode == "predict":
            return [{"logits": row, "label": int(y)} for row, y in zip(logits, label)]
        return logits
