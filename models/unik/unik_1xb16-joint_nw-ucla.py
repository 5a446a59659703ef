# UNIK on N-UCLA (Kinect v1, 20 joints, 3D), cross-view protocol: views 1+2 train (1,020), view 3 test (464).
# Data pipeline after CTR-GCN's N-UCLA feeder: skeletons centred on the first frame's spine joint, 52 frames
# sampled one per segment (random in training, the middle at test), and, because the test view is never seen,
# random camera views in training: rotations up to 60 degrees about the vertical (y) and horizontal (x) axes;
# then each axis of the clip min-max scaled to [-1, 1] (which also undoes any global scaling).
# 40 epochs, sized for a CPU (CTR-GCN trains 65 epochs over the training set repeated 5 times).
_base_ = ["../_base_/default_runtime.py", "../_base_/sgd_step_warmup.py", "../_base_/store_clips.py"]
num_persons = 1
clip_len = 52
model = dict(type="SkeletonRecognizer", net=dict(type="UNIK", num_heads=3, window=1, num_persons=num_persons))
max_epochs = 40
param_scheduler = [
    dict(type="LinearLR", start_factor=0.1, by_epoch=True, begin=0, end=4, convert_to_iter_based=True),
    dict(type="MultiStepLR", by_epoch=True, milestones=[30, 36], gamma=0.1),
]
train_cfg = dict(type="EpochBasedTrainLoop", max_epochs=max_epochs, val_interval=4)
train_pipeline = [
    dict(type="CentreSkeleton"),
    dict(type="SelectPersons", num=num_persons),
    dict(type="UniformSample", length=clip_len),
    dict(type="RandomRotation", angle=60, axes="xy"),
    dict(type="MinMaxNormalise"),
]
test_pipeline = [
    dict(type="CentreSkeleton"),
    dict(type="SelectPersons", num=num_persons),
    dict(type="UniformSample", length=clip_len, test=True),
    dict(type="MinMaxNormalise"),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
