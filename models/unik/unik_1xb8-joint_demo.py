# UNIK on the procedural sample of `posekit demo` (4 actions, 72 training clips): a short CPU run that shows
# the train -> eval -> predict path. Demo data: its accuracy says nothing about real data.
_base_ = ["../_base_/default_runtime.py", "../_base_/sgd_step_warmup.py", "../_base_/store_clips.py"]
num_persons = 1
clip_len = 24
model = dict(type="SkeletonRecognizer", net=dict(type="UNIK", num_heads=3, window=1, num_persons=num_persons))
default_hooks = dict(logger=dict(interval=5))
log_level = "WARNING"  # the demo prints its own summary; the full log is in the work dir
max_epochs = 15
param_scheduler = [dict(type="MultiStepLR", by_epoch=True, milestones=[11], gamma=0.1)]
optim_wrapper = dict(optimizer=dict(lr=0.05))
train_cfg = dict(type="EpochBasedTrainLoop", max_epochs=max_epochs, val_interval=3)
# Clips differ in position and size far more than 36 clips can teach: centre and scale each skeleton.
train_pipeline = [
    dict(type="CentreSkeleton"),
    dict(type="ScaleNormalise"),
    dict(type="SelectPersons", num=num_persons),
    dict(type="UniformSample", length=clip_len),
    dict(type="RandomScale", scale=0.1),
]
test_pipeline = [
    dict(type="CentreSkeleton"),
    dict(type="ScaleNormalise"),
    dict(type="SelectPersons", num=num_persons),
    dict(type="UniformSample", length=clip_len, test=True),
]
train_dataloader = dict(batch_size=8, num_workers=0, persistent_workers=False, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(num_workers=0, persistent_workers=False, dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
