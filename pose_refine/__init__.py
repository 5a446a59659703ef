"""pose_refine: SST-A aggregation, confidence, pseudo-labels and student self-training."""
GAMMA = 0.18  # the thesis' threshold (fig. 3.7-3.8): it keeps most aggregated poses with an error below 2.0

__all__ = ["GAMMA", "sst_aggregate", "sst_aggregate_batch"]


def __getattr__(name):
    # SST-A is imported on first use, so that the CLI can read GAMMA (an option default) without importing numpy
    if name in ("sst_aggregate", "sst_aggregate_batch"):
        from pose_refine import ssta

        return getattr(ssta, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
