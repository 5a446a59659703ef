# UNIK on any store: 2D image-normalised or 3D centred input, joint stream by default.
# `posekit train unik --store S` uses this config; the store decides joints, channels and classes.
_base_ = ["../_base_/default_runtime.py", "../_base_/sgd_step_warmup.py", "../_base_/store_clips.py"]
model = dict(type="SkeletonRecognizer", net=dict(type="UNIK", num_heads=3, window=1, num_persons=2))
