# Runtime shared by every posekit model: mmengine hooks, logging, seeds. `posekit train` fills the paths.
default_scope = "posekit"
default_hooks = dict(
    timer=dict(type="IterTimerHook"),
    logger=dict(type="LoggerHook", interval=20),
    param_scheduler=dict(type="ParamSchedulerHook"),
    checkpoint=dict(type="CheckpointHook", interval=1, max_keep_ckpts=2, save_best="top1", rule="greater"),
    sampler_seed=dict(type="DistSamplerSeedHook"),
)
env_cfg = dict(
    cudnn_benchmark=False, mp_cfg=dict(mp_start_method="fork", opencv_num_threads=0), dist_cfg=dict(backend="nccl")
)
log_processor = dict(by_epoch=True, window_size=20)
log_level = "INFO"
randomness = dict(seed=0, deterministic=False)
load_from = None
resume = False
