"""pose_refine: SST-A aggregation, confidence, pseudo-labels and student self-training."""
from pose_refine.ssta import sst_aggregate, sst_aggregate_batch

__all__ = ["sst_aggregate", "sst_aggregate_batch"]
