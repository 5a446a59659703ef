"""PositionPredictor: the mmengine model around DMSD or its single-stream baseline (RatPose future position)."""

from __future__ import annotations

import torch.nn.functional as F
from mmengine.model import BaseModel

from ..nets.dmsd import DMSD
from ..nets.dmsd_losses import MotionClusteringLoss, scenario_contrast_loss
from ..registry import MODELS


@MODELS.register_module()
class PositionPredictor(BaseModel):
    """The mmengine model around DMSD or the single-stream baseline.

    With DMSD each iteration alternates two updates (seed 000, sec. 4.2): first the feature decoupling loss
    L_f = lambda_s * L_sc(s) + lambda_m * L_mc(m), which reaches the two streams, the removal modules and the
    clustering centres; then, after a new forward pass, the cross-entropy L_cls, which reaches the streams, the
    removal modules and the classifier. The baseline has only L_cls."""

    def __init__(
        self,
        net: dict,
        lambda_s: float = 0.1,
        lambda_m: float = 1.0,
        temperature: float = 0.1,
        centres_per_class: int = 1,
        data_preprocessor: dict | None = None,
    ):
        super().__init__(data_preprocessor=data_preprocessor)
        self.net = MODELS.build(net)
        self.decoupled = isinstance(self.net, DMSD)
        self.lambda_s, self.lambda_m, self.temperature = lambda_s, lambda_m, temperature
        if self.decoupled:
            self.clustering = MotionClusteringLoss(
                self.net.head[-1].out_features, self.net.feature_dim, centres_per_class
            )

    def forward(self, frames, label, group=None, id=None, mode: str = "loss"):
        logits = self.net(frames)["logits"]
        if mode == "loss":
            return {"loss_cls": F.cross_entropy(logits, label)}
        if mode == "predict":
            scores = logits.float().softmax(dim=1)
            return [
                {"id": sample_id, "index": i, "label": int(y), "scores": s}
                for i, (sample_id, y, s) in enumerate(zip(id, label, scores))
            ]
        return logits

    def feature_losses(self, frames, label, group) -> dict:
        out = self.net(frames)
        return {
            "loss_sc": self.lambda_s * scenario_contrast_loss(out["scenario"], group, self.temperature),
            "loss_mc": self.lambda_m * self.clustering(out["motion"], label),
        }

    def train_step(self, data, optim_wrapper) -> dict:
        if not self.decoupled:
            return super().train_step(data, optim_wrapper)
        data = self.data_preprocessor(data, True)
        with optim_wrapper.optim_context(self):
            losses = self.feature_losses(data["frames"], data["label"], data["group"])
        loss_f, log_vars = self.parse_losses(losses)
        optim_wrapper.update_params(loss_f)
        with optim_wrapper.optim_context(self):
            losses = self(**data, mode="loss")
        loss_cls, _ = self.parse_losses(losses)
        optim_wrapper.update_params(loss_cls)
        log_vars.update(loss_cls=loss_cls.detach(), loss=loss_f.detach() + loss_cls.detach())
        return log_vars
