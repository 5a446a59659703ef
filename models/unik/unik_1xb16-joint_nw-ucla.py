# UNIK on N-UCLA (Kinect v1, 20 joints, 3D), cross-view protocol: views 1+2 train (1,020), view 3 test (464).
# Skeletons centred on the first frame's spine joint; every clip resized to 32 frames for training and test
# (CTR-GCN resizes N-UCLA clips to 52); random 3D rotation and scale; 20 epochs, sized for a CPU.
_base_ = ["../_base_/default_runtime.py", "../_base_/sgd_step_warmup.py", "../_base_/store_clips.py"]
num_persons = 1
clip_len = 32
model = dict(type="SkeletonRecognizer", net=dict(type="UNIK", num_heads=3, window=1, num_persons=num_persons))
max_epochs = 20
param_scheduler = [
    dict(type="LinearLR", start_factor=0.1, by_epoch=True, begin=0, end=2, convert_to_iter_based=True),
    dict(type="MultiStepLR", by_epoch=True, milestones=[12, 17], gamma=0.1),
]
train_cfg = dict(type="EpochBasedTrainLoop", max_epochs=max_epochs, val_interval=4)
train_pipeline = [
    dict(type="CentreSkeleton"),
    dict(type="SelectPersons", num=num_persons),
    dict(type="ResizeTime", length=clip_len),
    dict(type="RandomRotation", angle=15),
    dict(type="RandomScale", scale=0.1),
]
test_pipeline = [dict(type="CentreSkeleton"), dict(type="SelectPersons", num=num_persons),
                 dict(type="ResizeTime", length=clip_len)]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
