# DMSD (seed 000) sized for ~64 px frames on a CPU: motion and scenario removal modules, two temporal-shift
# ResNet streams (16-32-64 channels), scenario contrast loss (lambda_s 0.1) and motion clustering loss
# (lambda_m 1, one centre per class) alternating with the cross-entropy every iteration.
_base_ = ["../_base_/default_runtime.py", "./arena_windows.py"]
model = dict(
    type="PositionPredictor",
    lambda_s=0.1,
    lambda_m=1.0,
    temperature=0.1,
    centres_per_class=1,
    net=dict(type="DMSD", num_classes=5, in_channels=1, widths=(16, 32, 64), removal_hidden=8),
)
