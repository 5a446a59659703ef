"""pose_refine: SST-A aggregation, confidence, pseudo-labels and student self-training."""
