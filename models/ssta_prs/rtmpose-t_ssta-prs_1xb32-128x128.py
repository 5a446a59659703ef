# SSTA-PRS student: RTMPose-t (mmpose's rtmpose-t_8xb256-420e_coco-256x192.py: CSPNeXt-t backbone, SimCC head)
# at 128x128, plus the anchor-pose classification branch (posekit.nets.student_head). Trained on SST-A pseudo labels
# by posekit.train.student.train_student, which fills in the data (COCO JSON), the joints, the anchors and the epochs.
custom_imports = dict(imports=["posekit.nets.student_head"], allow_failed_imports=False)
default_scope = "mmpose"

input_size = (128, 128)  # width, height
max_epochs = 10
base_lr = 1e-3
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=max_epochs + 1)  # no validation: no truth
val_cfg = None
val_dataloader = None
val_evaluator = None
randomness = dict(seed=0)

optim_wrapper = dict(
    type="OptimWrapper",
    optimizer=dict(type="AdamW", lr=base_lr, weight_decay=0.0),
    paramwise_cfg=dict(norm_decay_mult=0, bias_decay_mult=0, bypass_duplicate=True),
)
param_scheduler = [
    dict(type="LinearLR", start_factor=1e-3, by_epoch=False, begin=0, end=200),
    dict(
        type="CosineAnnealingLR",
        eta_min=base_lr * 0.05,
        begin=0,
        end=max_epochs,
        T_max=max_epochs,
        by_epoch=True,
        convert_to_iter_based=True,
    ),
]

# SimCC bins of half a pixel (split ratio 2); sigmas scaled from RTMPose's (4.9, 5.66) at 192x256 to 128x128.
codec = dict(
    type="SimCCLabel", input_size=input_size, sigma=(3.3, 2.8), simcc_split_ratio=2.0, normalize=False, use_dark=False
)

model = dict(
    type="TopdownPoseEstimator",
    data_preprocessor=dict(
        type="PoseDataPreprocessor", mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], bgr_to_rgb=True
    ),
    backbone=dict(
        _scope_="mmdet",
        type="CSPNeXt",
        arch="P5",
        expand_ratio=0.5,
        deepen_factor=0.167,
        widen_factor=0.375,
        out_indices=(4,),
        channel_attention=True,
        norm_cfg=dict(type="BN"),
        act_cfg=dict(type="SiLU"),
    ),  # from scratch: no weights can be downloaded offline
    head=dict(
        type="AnchorPoseRTMCCHead",
        num_anchors=20,  # the thesis's 20 anchor poses; train_student sets the number it clustered
        anchor_loss_weight=1.0,
        in_channels=384,
        out_channels=17,  # train_student sets the store's joint count
        input_size=input_size,
        in_featuremap_size=tuple(s // 32 for s in input_size),
        simcc_split_ratio=codec["simcc_split_ratio"],
        final_layer_kernel_size=7,
        gau_cfg=dict(
            hidden_dims=256,
            s=128,
            expansion_factor=2,
            dropout_rate=0.0,
            drop_path=0.0,
            act_fn="SiLU",
            use_rel_bias=False,
            pos_enc=False,
        ),
        loss=dict(type="KLDiscretLoss", use_target_weight=True, beta=10.0, label_softmax=True),
        decoder=codec,
    ),
    test_cfg=dict(flip_test=False),
)

# No horizontal flip and no rotation: both would change the pose's anchor class (anchors are oriented poses).
train_pipeline = [
    dict(type="LoadImage"),
    dict(type="GetBBoxCenterScale"),
    dict(type="RandomBBoxTransform", shift_factor=0.1, scale_factor=[0.8, 1.2], rotate_factor=0),
    dict(type="TopdownAffine", input_size=input_size),
    dict(type="GenerateTarget", encoder=codec),
    dict(type="PackPoseInputs"),
]
test_pipeline = [
    dict(type="LoadImage"),
    dict(type="GetBBoxCenterScale"),
    dict(type="TopdownAffine", input_size=input_size),
    dict(type="PackPoseInputs"),
]
train_dataloader = dict(
    batch_size=32,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type="DefaultSampler", shuffle=True),
    dataset=dict(
        type="CocoDataset",
        data_mode="topdown",
        data_root="",
        ann_file="pseudo_labels.json",
        data_prefix=dict(img=""),
        metainfo=None,
        pipeline=train_pipeline,
    ),
)
test_dataloader = dict(
    batch_size=32,
    num_workers=0,
    sampler=dict(type="DefaultSampler", shuffle=False),
    dataset=dict(
        type="CocoDataset",
        data_mode="topdown",
        data_root="",
        ann_file="pseudo_labels.json",
        data_prefix=dict(img=""),
        metainfo=None,
        test_mode=True,
        pipeline=test_pipeline,
    ),
)

default_hooks = dict(
    timer=dict(type="IterTimerHook"),
    logger=dict(type="LoggerHook", interval=20),
    param_scheduler=dict(type="ParamSchedulerHook"),
    checkpoint=dict(type="CheckpointHook", interval=1, max_keep_ckpts=1),
    sampler_seed=dict(type="DistSamplerSeedHook"),
)
env_cfg = dict(
    cudnn_benchmark=False, mp_cfg=dict(mp_start_method="fork", opencv_num_threads=0), dist_cfg=dict(backend="nccl")
)
log_processor = dict(by_epoch=True, window_size=20)
log_level = "INFO"
load_from = None
resume = False
