# T-MOR (thesis ch. 6, sec. 6.3.2-6.3.3): UNIK trained against augmented copies of each window (eq. 6.3, MoCo as in
# models/pretrain/), the text of its class (eq. 6.6: negatives from other classes only) and, with --video-features,
# its video features (eq. 6.4). `posekit train tmor --store S --work-dir D` uses this config on a store with
# captions and text embeddings (`posekit text caption S`, `posekit text embed S`); the store decides joints,
# channels, normalisation (as for `posekit train unik`), the text dimension and the classes.
# Thesis values: UNIK encoder, MLP projection heads, InfoNCE with Sim = cosine / Temp (eq. 6.5), one positive
# sk+ made by random temporal cropping and random rotation, L_sup = L_mm + L_mv + L_mt (weights 1).
# Unstated there, chosen here (see the card): joint space 128-d, Temp 0.1 for every term, queue 8,192 capped at
# half the training windows (the thesis's 65,536 is for a million clips), momentum 0.994 rising to 1, and the
# optimiser of models/pretrain/ (SGD, base lr 0.1 per 256 windows, half cosine), whose augment config this one
# extends: schedule, momentum hook, window, queue and data loading are that config's. 20 epochs: a CPU budget.
_base_ = ["../pretrain/unik-pretrain_1xb32-augment_store.py"]
model = dict(
    type="TMOR",
    views=dict(
        num_positives=1,  # eq. 6.3: one sk+
        augment=dict(rotation=10.0, scale=0.0, flip=0.0, crop_length=24, aligned_crops=False),  # crops of 24 of 32
    ),
    frame_weight=0.0,  # eq. 6.3 compares whole sequences: no frame term, no frame queue
    text_feature="text",  # the trainer sets it, text_dim, num_classes and the video term from the store
    text_dim=384,
    num_classes=1,
    text_weight=1.0,
    video_weight=1.0,
    text_head="mlp",  # the thesis's MLP phi_T; `linear` or `frozen` (--text-head) keep unseen class texts in place
)
train_dataloader = dict(dataset=dict(feature_rows=["text"]))  # with the feature rows the dataset reads
