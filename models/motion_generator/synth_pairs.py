# Data of the motion-generator configs: pairs of renders of a `posekit synth views` store (RetargetPairs), windows
# of 64 frames every 32 (the authors' Mixamo setting); validation and test on the held-out bodies and views (the
# last body; yaw -60 and 30 of the thesis's seven views). `posekit train motion-generator --store S` sets `store`.
pairs = dict(type="RetargetPairs", store=None, window=64, stride=32, val_bodies=1, val_views=None, seed=0)
train_dataloader = dict(
    batch_size=64,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type="DefaultSampler", shuffle=True),
    collate_fn=dict(type="default_collate"),
    dataset=dict(pairs, part="train"),
)
val_dataloader = dict(
    batch_size=64,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type="DefaultSampler", shuffle=False),
    collate_fn=dict(type="default_collate"),
    dataset=dict(pairs, part="val"),
)
test_dataloader = val_dataloader
val_evaluator = dict(type="RetargetError")
test_evaluator = val_evaluator
