# The motion generator of LAC / ViA (thesis ch. 4, Table 4.1, eq. 4.1-4.4), trained by motion retargeting on 2D
# renders of N-UCLA's training clips: `posekit synth views nw_ucla.h5 --split train -o nw_ucla_views.h5`.
# Windows of 32 frames (every 16) instead of the authors' 64: half the N-UCLA clips are shorter than 35 frames.
# The authors' schedule: Adam lr 1e-3, exponential decay 0.99 per epoch, 300 epochs, batch 64; L_self + L_target
# plus their triplet terms (margin 1); the ViA velocity term is off (velocity_weight=0.1 turns it on).
_base_ = ["../_base_/default_runtime.py", "./synth_pairs.py"]
pairs = dict(window=32, stride=16)
train_dataloader = dict(dataset=pairs)
val_dataloader = dict(dataset=pairs)
test_dataloader = dict(dataset=pairs)
model = dict(
    type="RetargetingModel",
    target_weight=1.0,
    triplet_weight=1.0,
    triplet_margin=1.0,
    velocity_weight=0.0,
    net=dict(type="MotionGenerator", num_joints=None, motion_dims=128, use_dictionary=True, dropout=0.2),
)
max_epochs = 300
optim_wrapper = dict(type="OptimWrapper", optimizer=dict(type="Adam", lr=1e-3))
param_scheduler = [dict(type="ExponentialLR", gamma=0.99, by_epoch=True)]
train_cfg = dict(type="EpochBasedTrainLoop", max_epochs=max_epochs, val_interval=1)
val_cfg = dict(type="ValLoop")
test_cfg = dict(type="TestLoop")
default_hooks = dict(checkpoint=dict(save_best=None))  # no selection: the last epoch is scored
