# UNIK on any 3D store read as 2D (--project-2d) with random camera views: the clip is rotated in 3D (up to 60
# degrees about the vertical and horizontal axes, CTR-GCN's N-UCLA augmentation) before its 2D camera view is
# taken. A privileged reference for pre-training on 2D joints (tools/bench_pretrain.py --rotation-reference): it
# uses the 3D joints that 2D-only pre-training never sees. Otherwise the store config.
_base_ = ["./unik_1xb16-joint_store.py"]
train_pipeline = [
    dict(type="SelectPersons", num=2),
    dict(type="RandomTemporalCrop", length=64),
    dict(type="ReplayPad", length=64),
    dict(type="RandomRotation", angle=60, axes="xy"),
    dict(type="RandomScale", scale=0.1),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
