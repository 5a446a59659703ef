# UNIK (thesis ch. 3) on Penn Action ground-truth 2D joints, joint stream, trained from scratch.
_base_ = ["../_base_/default_runtime.py", "../_base_/sgd_step_warmup.py", "../_base_/store_clips.py"]
num_persons = 1
model = dict(type="SkeletonRecognizer",
             net=dict(type="UNIK", num_heads=3, window=1, num_persons=num_persons))
train_pipeline = [
    dict(type="NormalizeImage2D"),
    dict(type="SelectPersons", num=num_persons),
    dict(type="RandomTemporalCrop", length=64),
    dict(type="ReplayPad", length=64),
    dict(type="RandomScale", scale=0.1),
]
test_pipeline = [dict(type="NormalizeImage2D"), dict(type="SelectPersons", num=num_persons)]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
