# UNIK (thesis ch. 3) on Penn Action ground-truth 2D joints (penn-13), trained from scratch.
# Thesis settings (SGD Nesterov, lr 0.1, wd 1e-4, warm-up, step decay; random crop for training, all frames at
# test) on a shorter schedule sized for Penn's 1,258 short clips (median 56 frames): 30 epochs, 48-frame crops.
_base_ = ["../_base_/default_runtime.py", "../_base_/sgd_step_warmup.py", "../_base_/store_clips.py"]
num_persons = 1
clip_len = 48
model = dict(type="SkeletonRecognizer", net=dict(type="UNIK", num_heads=3, window=1, num_persons=num_persons))
max_epochs = 30
param_scheduler = [
    dict(type="LinearLR", start_factor=0.1, by_epoch=True, begin=0, end=3, convert_to_iter_based=True),
    dict(type="MultiStepLR", by_epoch=True, milestones=[18, 25], gamma=0.1),
]
train_cfg = dict(type="EpochBasedTrainLoop", max_epochs=max_epochs, val_interval=3)
train_pipeline = [
    dict(type="NormalizeImage2D"),
    dict(type="SelectPersons", num=num_persons),
    dict(type="RandomTemporalCrop", length=clip_len),
    dict(type="ReplayPad", length=clip_len),
    dict(type="RandomScale", scale=0.1),
]
test_pipeline = [dict(type="NormalizeImage2D"), dict(type="SelectPersons", num=num_persons)]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
