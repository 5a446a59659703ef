# The single temporal-shift stream baseline of DMSD: the same stream, data and schedule, cross-entropy only.
_base_ = ["../_base_/default_runtime.py", "./arena_windows.py"]
model = dict(
    type="PositionPredictor", net=dict(type="TSMClassifier", num_classes=5, in_channels=1, widths=(16, 32, 64))
)
