# Self-supervised contrastive pre-training of UNIK (thesis ch. 4: LAC sec. 4.3.2 eq. 4.6-4.8, training details sec.
# 4.5.1; ViA sec. 4.4) on the unlabelled windows of one split of any store. The control of every comparison: the
# query and its P = 4 positives are independent augmentations of a window (rotation, scale, mirror flip; the crop is
# the random window itself, shared by the views because the frame term compares frame t with frame t).
# `posekit train pretrain --store S --work-dir D --positives augment` uses this config; the store decides joints
# and channels, and the input normalisation as for `posekit train unik` (pixels with image sizes: UNIK's x/w*2-1;
# otherwise centred), so the pre-trained encoder reads what the default UNIK config feeds it downstream.
# Thesis values: queue 8,192 (sec. 4.5.1; capped by the trainer at half the training windows, see the card),
# momentum 0.994 rising to 1 on a half cosine, temperature 0.1, 2-layer MLP to 128-d, P = 4, SGD with a base
# learning rate of 0.1 on a half-period cosine; weight decay 1e-4 (UNIK's). The base rate is [52]'s, per 256 windows
# and scaled linearly with the batch (0.0125 for 32): 0.1 at a batch of 32 collapses every feature onto one
# direction within a few steps, while the queue still holds its random initial keys. 20 epochs instead of 200: a
# CPU budget (see the card).
_base_ = ["../_base_/default_runtime.py"]
window = 32  # frames per window: a multiple of 8 for the motion generator; UNIK keeps one frame feature in 4
num_persons = 2  # as models/unik/unik_1xb16-joint_store.py, so --init loads the input BatchNorm too
model = dict(
    type="ContrastivePretrainer",
    net=dict(type="UNIK", num_heads=3, window=1, num_persons=num_persons, num_classes=1),  # classifier dropped
    views=dict(type="PositiveViews", mode="augment", num_positives=4, augment=dict(rotation=10.0, scale=0.1, flip=0.5)),
    projection=dict(type="ProjectionHead", in_channels=256, out_channels=128),
    window=window,
    queue_size=8192,
    momentum=0.994,
    cosine_momentum=True,
    temperature=0.1,
    frame_weight=1.0,
    batchnorm_groups=4,
)  # MoCo's BatchNorm per GPU on one device: 4 "GPUs" of 8 queries, keys shuffled across them
max_epochs = 20
optim_wrapper = dict(optimizer=dict(type="SGD", lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-4))
auto_scale_lr = dict(base_batch_size=256, enable=True)
param_scheduler = [
    dict(type="CosineAnnealingLR", T_max=max_epochs, by_epoch=True, begin=0, end=max_epochs, convert_to_iter_based=True)
]
train_cfg = dict(type="EpochBasedTrainLoop", max_epochs=max_epochs)
custom_hooks = [dict(type="MomentumEncoderHook")]
default_hooks = dict(checkpoint=dict(save_best=None))  # no labels, no selection: best.pth is the last epoch
# A random window of `window` frames; a shorter clip is stretched to it (ResizeTime) rather than replayed from its
# start, a jump the motion generator would read as the body teleporting.
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
    collate_fn=dict(type="collate_clips"),
    dataset=dict(type="StoreClips", store=None, split="train", pipeline=train_pipeline),
)
