"""Every posekit network, registered in ``posekit.registry.MODELS`` on import of this package: UNIK
(topology-free) and the ST-GCN and CTR-GCN baselines with shared units and heads, the motion generator of LAC/ViA
with the contrastive heads and positive views of their pre-training, and the rodent branch's networks. The pose
student's head (``posekit.nets.student_head``) registers in mmpose's registry and is imported by its config
instead.

Build from a config with ``posekit.registry.MODELS.build(dict(type='UNIK', num_classes=60))``."""

from posekit.nets import contrastive, positives  # noqa: F401  (LAC/ViA pre-training, thesis ch. 4)
from posekit.nets.cnn_lstm import CNNLSTM  # noqa: F401  (the rodent branch's self-supervised CNN-LSTM)
from posekit.nets.ctrgcn import CTRGCN
from posekit.nets.dmsd import DMSD, TSMClassifier  # noqa: F401  (RatPose future-position prediction, seed 000)
from posekit.nets.heads import ClassifierHead, FrameHead, make_head
from posekit.nets.motion_generator import MotionGenerator
from posekit.nets.stgcn import STGCN, spatial_partitions
from posekit.nets.unik import THESIS_DILATIONS, UNIK, SpatialDependencyUnit
from posekit.registry import MODELS

__all__ = [
    "MODELS",
    "UNIK",
    "STGCN",
    "CTRGCN",
    "MotionGenerator",
    "SpatialDependencyUnit",
    "THESIS_DILATIONS",
    "spatial_partitions",
    "ClassifierHead",
    "FrameHead",
    "make_head",
]
