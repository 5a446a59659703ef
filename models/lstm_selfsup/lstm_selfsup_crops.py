# LSTM self-supervision (Brattoli, Buechler et al. CVPR 2017): real vs permuted sequences of crops around the animal.
# `posekit train lstm-selfsup --store S --work-dir D` uses this config and fills in the crops file.
_base_ = ["../_base_/default_runtime.py"]
crop_size = 64  # grey crops, resampled from a square around the animal's box
seq_len = 8
model = dict(
    type="SequenceOrderModel",
    net=dict(
        type="CNNLSTM",
        in_channels=1,
        channels=(32, 64, 128, 128),
        grid=4,
        posture_dim=256,
        hidden=512,
        num_classes=2,
        difference_input=True,
    ),
)  # LSTM 512 as in the paper
# n = 12 (real, permuted) pairs per batch as in the paper: 24 sequences.
train_dataloader = dict(
    batch_size=12,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type="DefaultSampler", shuffle=True),
    collate_fn=dict(type="collate_pairs"),
    dataset=dict(type="PermutedSequencePairs", crops=None, length=seq_len, stride=1, augment=True),
)
# The paper trains with SGD; Adam reaches the same task accuracy in far fewer iterations on short CPU schedules.
optim_wrapper = dict(optimizer=dict(type="Adam", lr=1e-3, weight_decay=1e-4), clip_grad=dict(max_norm=5.0))
param_scheduler = [dict(type="CosineAnnealingLR", by_epoch=True, T_max=10, eta_min=1e-5, convert_to_iter_based=True)]
train_cfg = dict(type="EpochBasedTrainLoop", max_epochs=10)
val_cfg = val_dataloader = val_evaluator = None
test_cfg = test_dataloader = test_evaluator = None
default_hooks = dict(
    checkpoint=dict(type="CheckpointHook", interval=1, max_keep_ckpts=2, save_best=None, _delete_=True),
    logger=dict(type="LoggerHook", interval=10),
)
