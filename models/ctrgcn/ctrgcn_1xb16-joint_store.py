# CTR-GCN (Chen et al. 2021) on any store whose layout has a bone tree: channel-wise refined topologies.
# The paper's schedule where the base allows: SGD Nesterov, lr 0.1, 5 warm-up epochs, 65 epochs with decay x0.1 at
# 35 and 55, weight decay 4e-4, 64-frame clips; the paper's batch is 64, posekit's store configs train with 16.
_base_ = ["../_base_/default_runtime.py", "../_base_/sgd_step_warmup.py", "../_base_/store_clips.py"]
model = dict(type="SkeletonRecognizer", net=dict(type="CTRGCN", num_persons=2))
max_epochs = 65
optim_wrapper = dict(optimizer=dict(weight_decay=4e-4))
param_scheduler = [
    dict(type="LinearLR", start_factor=0.1, by_epoch=True, begin=0, end=5, convert_to_iter_based=True),
    dict(type="MultiStepLR", by_epoch=True, milestones=[35, 55], gamma=0.1),
]
train_cfg = dict(type="EpochBasedTrainLoop", max_epochs=max_epochs, val_interval=5)
