"""Skeleton action networks: UNIK (topology-free) and the ST-GCN baseline, with shared units and heads.

Build from a config with ``posekit.nets.MODELS.build(dict(type='UNIK', num_classes=60))``."""
from posekit.nets.cnn_lstm import CNNLSTM  # noqa: F401  (the rodent branch's self-supervised CNN-LSTM)
from posekit.nets.dmsd import DMSD, TSMClassifier  # noqa: F401  (RatPose future-position prediction, seed 000)
from posekit.nets.heads import ClassifierHead, FrameHead, make_head
from posekit.nets.stgcn import STGCN, spatial_partitions
from posekit.nets.unik import THESIS_DILATIONS, UNIK, SpatialDependencyUnit
from posekit.registry import MODELS

__all__ = ["MODELS", "UNIK", "STGCN", "SpatialDependencyUnit", "THESIS_DILATIONS", "spatial_partitions",
           "ClassifierHead", "FrameHead", "make_head"]
