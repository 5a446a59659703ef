# Data and schedule of the DMSD configs: windows of 8 frames, every 3rd frame, ending at a labelled frame of a
# RatPose-style store (`posekit rodent label`); frames from the file each clip's /clips/source names.
# `posekit train dmsd --store S --train-split A --test-split B` fills the store and the splits.
clip_frames = 8
windows = dict(type="PositionWindows", store=None, clip_frames=clip_frames, stride=3, sample_step=5)
train_dataloader = dict(
    batch_size=16,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type="DefaultSampler", shuffle=True),
    collate_fn=dict(type="default_collate"),
    dataset=dict(windows, split="train_scenario"),
)
test_dataloader = dict(
    batch_size=32,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type="DefaultSampler", shuffle=False),
    collate_fn=dict(type="default_collate"),
    dataset=dict(windows, split="test_scenario"),
)
test_cfg = dict(type="TestLoop")
test_evaluator = dict(type="ClipAccuracy", topk=(1,))
# AdamW with a cosine decay: converges in a few epochs on small CPU runs (the paper used mmaction2's defaults).
max_epochs = 6
optim_wrapper = dict(type="OptimWrapper", optimizer=dict(type="AdamW", lr=2e-3, weight_decay=1e-4))
param_scheduler = [
    dict(type="CosineAnnealingLR", T_max=max_epochs, by_epoch=True, begin=0, end=max_epochs, convert_to_iter_based=True)
]
train_cfg = dict(type="EpochBasedTrainLoop", max_epochs=max_epochs)
