# UNIK transferred to action segmentation (thesis ch. 4: sec. 4.3.2 "Transfer-Learning for Action Segmentation" and
# sec. 4.5.1): the per-frame head (a fully-connected layer on each frame of E_V's features), binary cross-entropy per
# frame and class, trained on sliding windows over the untrimmed sequences of a store with per-frame labels
# (`posekit synth untrimmed`, or a converted segmentation dataset). Test: every window of a test sequence is scored
# and each frame takes the mean of the windows that cover it; frame-level accuracy and mAP over all frames.
# `posekit train segment --store S` uses this config; the store decides joints, channels, classes and normalisation.
# Schedule of sec. 4.5.1: SGD lr 0.1, 50 epochs, step decay x0.1 at epochs 30 and 40, weight decay 1e-4 (with the
# UNIK schedule's 5-epoch warm-up and Nesterov momentum); windows of 64 frames (the thesis: 64 for Charades, 300 for
# Toyota Smarthome Untrimmed and PKU-MMD), every 32 frames.
_base_ = ["../_base_/default_runtime.py", "../_base_/sgd_step_warmup.py"]
store = None
num_persons = 2
window = 64
stride = 32
model = dict(
    type="SkeletonSegmenter", net=dict(type="UNIK", head="frame", num_heads=3, window=1, num_persons=num_persons)
)
max_epochs = 50
param_scheduler = [
    dict(type="LinearLR", start_factor=0.1, by_epoch=True, begin=0, end=5, convert_to_iter_based=True),
    dict(type="MultiStepLR", by_epoch=True, milestones=[30, 40], gamma=0.1),
]
train_cfg = dict(type="EpochBasedTrainLoop", max_epochs=max_epochs, val_interval=5)
# The hold-out picks best.pth by its frame-level mAP.
default_hooks = dict(checkpoint=dict(save_best="mAP", rule="greater"))
# Windows are the crops: a pipeline changes coordinates and persons, never frames.
train_pipeline = [dict(type="SelectPersons", num=num_persons), dict(type="RandomScale", scale=0.1)]
test_pipeline = [dict(type="SelectPersons", num=num_persons)]
train_dataloader = dict(
    batch_size=16,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type="DefaultSampler", shuffle=True),
    collate_fn=dict(type="collate_windows"),
    dataset=dict(
        type="SequenceWindows", store=store, split="train", pipeline=train_pipeline, window=window, stride=stride
    ),
)
val_dataloader = dict(
    batch_size=16,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type="DefaultSampler", shuffle=False),
    collate_fn=dict(type="collate_windows"),
    dataset=dict(
        type="SequenceWindows", store=store, split="test", pipeline=test_pipeline, window=window, stride=stride
    ),
)
test_dataloader = val_dataloader
val_evaluator = dict(type="FrameSegmentation")
test_evaluator = val_evaluator
