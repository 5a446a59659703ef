# T-MOR (thesis ch. 6, sec. 6.3.2-6.3.3): UNIK trained against augmented copies of each window (eq. 6.3, MoCo as in
# models/pretrain/), the text of its class (eq. 6.6: negatives from other classes only) and, with --video-features,
# its video features (eq. 6.4). `posekit train tmor --store S --work-dir D` uses this config on a store with
# captions and text embeddings (`posekit text caption S`, `posekit text embed S`); the store decides joints,
# channels, normalisation (as for `posekit train unik`), the text dimension and the classes.
# Thesis values: UNIK encoder, MLP projection heads, InfoNCE with Sim = cosine / Temp (eq. 6.5), one positive
# sk+ made by random temporal cropping and random rotation, L_sup = L_mm + L_mv + L_mt (weights 1).
# Unstated there, chosen here (see the card): joint space 128-d, Temp 0.1 for every term, queue 8,192 capped at
# half the training windows (the thesis's 65,536 is for a million clips), momentum 0.994 rising to 1, and the
# optimiser of models/pretrain/ (SGD, base lr 0.1 per 256 windows, half cosine). 20 epochs: a CPU budget.
_base_ = ["../_base_/default_runtime.py"]
window = 32  # frames read per window; the views are independent crops of 24 of them
num_persons = 2  # as models/unik/unik_1xb16-joint_store.py, so --init loads the input BatchNorm too
model = dict(
    type="TMOR",
    net=dict(type="UNIK", num_heads=3, window=1, num_persons=num_persons, num_classes=1),  # classifier dropped
    views=dict(
        type="PositiveViews",
        mode="augment",
        num_positives=1,  # eq. 6.3: one sk+
        augment=dict(rotation=10.0, scale=0.0, flip=0.0, crop_length=24, aligned_crops=False),
    ),
    projection=dict(type="ProjectionHead", in_channels=256, out_channels=128),
    window=window,
    queue_size=8192,
    momentum=0.994,
    cosine_momentum=True,
    temperature=0.1,
    frame_weight=0.0,  # eq. 6.3 compares whole sequences: no frame term, no frame queue
    batchnorm_groups=4,
    text_feature="text",  # the trainer sets it, text_dim, num_classes and the video term from the store
    text_dim=384,
    num_classes=1,
    text_weight=1.0,
    video_weight=1.0,
    text_head="mlp",  # the thesis's MLP phi_T; `linear` or `frozen` (--text-head) keep unseen class texts in place
)
max_epochs = 20
optim_wrapper = dict(optimizer=dict(type="SGD", lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-4))
auto_scale_lr = dict(base_batch_size=256, enable=True)
param_scheduler = [
    dict(type="CosineAnnealingLR", T_max=max_epochs, by_epoch=True, begin=0, end=max_epochs, convert_to_iter_based=True)
]
train_cfg = dict(type="EpochBasedTrainLoop", max_epochs=max_epochs)
custom_hooks = [dict(type="MomentumEncoderHook")]
default_hooks = dict(checkpoint=dict(save_best=None))  # nothing held out to select on: best.pth is the last epoch
train_pipeline = [
    dict(type="SelectPersons", num=num_persons),
    dict(type="RandomTemporalCrop", length=window),
    dict(type="ResizeTime", length=window),
]
train_dataloader = dict(
    batch_size=32,
    num_workers=2,
    persistent_workers=True,
    drop_last=True,
    sampler=dict(type="DefaultSampler", shuffle=True),
    collate_fn=dict(type="collate_clips"),  # with the feature rows the dataset reads
    dataset=dict(type="StoreClips", store=None, split="train", pipeline=train_pipeline, feature_rows=["text"]),
)
