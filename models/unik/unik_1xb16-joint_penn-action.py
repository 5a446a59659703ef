# UNIK (thesis ch. 3) on Penn Action ground-truth 2D joints (penn-13), trained from scratch.
# Thesis settings: SGD Nesterov, lr 0.1, wd 1e-4, warm-up, step decay over the base 60-epoch schedule (decay at
# 35 and 50); random crop for training (48 frames: Penn's 1,258 training clips are short, median 56 frames), all
# frames at test. Added: random mirroring (x -> -x with left/right joints swapped), as Penn's players swing with
# either hand.
_base_ = ["../_base_/default_runtime.py", "../_base_/sgd_step_warmup.py", "../_base_/store_clips.py"]
num_persons = 1
clip_len = 48
model = dict(type="SkeletonRecognizer", net=dict(type="UNIK", num_heads=3, window=1, num_persons=num_persons))
train_pipeline = [
    dict(type="NormalizeImage2D"),
    dict(type="SelectPersons", num=num_persons),
    dict(type="RandomTemporalCrop", length=clip_len),
    dict(type="ReplayPad", length=clip_len),
    dict(type="RandomFlip"),
    dict(type="RandomScale", scale=0.1),
]
test_pipeline = [dict(type="NormalizeImage2D"), dict(type="SelectPersons", num=num_persons)]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
