"""RetargetingModel: the mmengine model around the motion generator (thesis ch. 4, eq. 4.4), trained by motion
retargeting on pairs of renders (:class:`~posekit.train.retarget_pairs.RetargetPairs`).

Losses, on z-scored features (:class:`~posekit.nets.motion_generator.MotionGenerator`): L_self reconstructs A and
B from their own codes; L_target decodes A's Motion with B's Static against the render AB (and B's Motion with A's
Static against BA); the authors' triplet terms (margin 1) pull the Motion codes of A and AB together and away from
B's, and the Static codes of A and BA together and away from B's; the velocity term (ViA, weight 0.1 when on)
compares frame-to-frame differences of every output with its target. ``mode='predict'`` gives per pair the errors
that :class:`~posekit.train.metric.RetargetError` averages: ``retarget_mse``, the mean squared error of the
retargeted outputs against AB and BA in z-scored units (each channel divided by its training std: the unit of the
thesis's Tables 4.6 and 4.13, as their code computes it), ``retarget_mpjpe``, the mean per-joint distance of the
root-relative joints in the store's units (metres for synth renders of a metric store), and ``copy_mse``, the
error of answering A itself (retargeting nothing).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from mmengine.model import BaseModel

from ..registry import MODELS


@MODELS.register_module()
class RetargetingModel(BaseModel):
    """The mmengine model around :class:`MotionGenerator`: the losses of eq. 4.4 and the retargeting error."""

    def __init__(
        self,
        net: dict,
        target_weight: float = 1.0,
        triplet_weight: float = 1.0,
        triplet_margin: float = 1.0,
        velocity_weight: float = 0.0,
        data_preprocessor: dict | None = None,
    ):
        super().__init__(data_preprocessor=data_preprocessor)
        self.net = MODELS.build(net)
        self.target_weight, self.triplet_weight, self.velocity_weight = target_weight, triplet_weight, velocity_weight
        self.triplet = torch.nn.TripletMarginLoss(margin=triplet_margin)

    def forward(self, a, b, ab, ba, mode: str = "loss"):
        n = len(a)
        features = self.net.to_features(torch.cat([a, b, ab, ba]))  # the inputs A, B and the targets AB, BA
        with_targets = mode == "loss" and bool(self.triplet_weight)  # the triplet terms need the targets' codes
        motion, static = self.net.encode(features if with_targets else features[: 2 * n])
        ma, mb, sa, sb = motion[:n], motion[n : 2 * n], static[:n], static[n : 2 * n]
        outputs = self.net.decode(torch.cat([ma, mb, ma, mb]), torch.cat([sa, sb, sb, sa])).float()
        targets = features.float()  # A, B, AB, BA: what each output should be
        if mode == "predict":
            return self._errors(outputs, targets)
        if mode != "loss":
            return outputs[2 * n :]
        losses = {
            "loss_self": F.mse_loss(outputs[: 2 * n], targets[: 2 * n]),
            "loss_target": self.target_weight * F.mse_loss(outputs[2 * n :], targets[2 * n :]),
        }
        if with_targets:
            mab, mba, sab, sba = motion[2 * n : 3 * n], motion[3 * n :], static[2 * n : 3 * n], static[3 * n :]
            ma, mb, mab, mba = (m.flatten(1) for m in (ma, mb, mab, mba))
            # anchor, positive (same motion / same static), negative (the other sequence)
            losses["loss_triplet"] = self.triplet_weight * (
                self.triplet(ma, mab, mb)
                + self.triplet(mb, mba, ma)
                + self.triplet(sa, sba, sb)
                + self.triplet(sb, sab, sa)
            )
        if self.velocity_weight:
            losses["loss_velocity"] = self.velocity_weight * F.mse_loss(outputs.diff(dim=2), targets.diff(dim=2))
        return losses

    def _errors(self, outputs, targets) -> list[dict]:
        """Per pair, the mean of its two directions (A onto B, B onto A): squared errors in z-scored units and
        joint distances in store units; ``copy_mse`` answers A for AB and B for BA."""
        n = len(outputs) // 4

        def per_pair(x):  # (2N, ...) -> (N,)
            return x.flatten(1).mean(1).view(2, n).mean(0)

        cross, truth = outputs[2 * n :], targets[2 * n :]
        joints = [self.net.to_joints(x) for x in (cross, truth)]
        rooted = [j - j[:, :, self.net.root : self.net.root + 1] for j in joints]
        rows = {
            "retarget_mse": per_pair((cross - truth) ** 2),
            "self_mse": per_pair((outputs[: 2 * n] - targets[: 2 * n]) ** 2),
            "copy_mse": per_pair((targets[: 2 * n] - truth) ** 2),
            "retarget_mpjpe": per_pair((rooted[0] - rooted[1]).norm(dim=-1)),
        }
        rows = {k: v.detach() for k, v in rows.items()}
        return [{k: float(v[i]) for k, v in rows.items()} for i in range(n)]
