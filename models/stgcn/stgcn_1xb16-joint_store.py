# The ST-GCN baseline (Yan et al. 2018) on any store whose layout has a bone tree: fixed skeleton graph.
_base_ = ["../_base_/default_runtime.py", "../_base_/sgd_step_warmup.py", "../_base_/store_clips.py"]
model = dict(type="SkeletonRecognizer", net=dict(type="STGCN", num_persons=2))
