# Data from one skeleton store. `posekit train --store S` sets `store`; the model's joints, channels and classes
# are read from the store, and the input normalisation is chosen from its coordinates when a pipeline names none
# (pixels: UNIK's x/w*2-1, y/w*2-h/w; otherwise centred). Training: random crop of `clip_len` frames;
# test: all frames.
store = None
clip_len = 64
num_persons = 2
train_pipeline = [
    dict(type="SelectPersons", num=num_persons),
    dict(type="RandomTemporalCrop", length=clip_len),
    dict(type="ReplayPad", length=clip_len),
    dict(type="RandomScale", scale=0.1),
]
test_pipeline = [
    dict(type="SelectPersons", num=num_persons),
]
train_dataloader = dict(
    batch_size=16,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type="DefaultSampler", shuffle=True),
    collate_fn=dict(type="collate_clips"),
    dataset=dict(type="StoreClips", store=store, split="train", pipeline=train_pipeline),
)
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type="DefaultSampler", shuffle=False),
    collate_fn=dict(type="collate_clips"),
    dataset=dict(type="StoreClips", store=store, split="test", pipeline=test_pipeline),
)
test_dataloader = val_dataloader
val_evaluator = dict(type="ClipAccuracy")
test_evaluator = val_evaluator
