"""pose_refine: the algorithms of thesis ch. 3 on arrays: SST-A aggregation and its confidence (ssta, tracks),
pseudo-label selection (pseudo_labels), simulated experts (simulate) and the refine report's numbers (report).

It never imports posekit: posekit.refine reads and writes the stores, frames and files around these algorithms."""

GAMMA = 0.18  # the thesis' threshold (fig. 3.7-3.8): it keeps most aggregated poses with an error below 2.0

__all__ = ["GAMMA", "sst_aggregate", "sst_aggregate_batch"]


def __getattr__(name):
    # SST-A is imported on first use, so that the CLI can read GAMMA (an option default) without importing numpy
    if name in ("sst_aggregate", "sst_aggregate_batch"):
        from pose_refine import ssta

        return getattr(ssta, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
