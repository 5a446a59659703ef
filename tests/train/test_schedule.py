"""--epochs stretches or shortens a config's schedule: milestones by the ratio, the warm-up never longer."""

from mmengine.config import Config

from posekit.train.overrides import set_epochs


def _nw_ucla_schedule() -> Config:
    return Config(
        dict(
            train_cfg=dict(max_epochs=40, val_interval=4),
            param_scheduler=[
                dict(type="LinearLR", start_factor=0.1, by_epoch=True, begin=0, end=4),
                dict(type="MultiStepLR", by_epoch=True, milestones=[30, 36], gamma=0.1),
            ],
        )
    )


def test_stretched_schedule_scales_milestones_and_keeps_the_warm_up():
    cfg = _nw_ucla_schedule()
    set_epochs(cfg, 150)  # ratio 3.75: 30 -> 112.5 -> 112 (round half to even), 36 -> 135
    warm_up, steps = cfg.param_scheduler
    assert cfg.train_cfg.max_epochs == 150 and steps.milestones == [112, 135] and warm_up.end == 4


def test_shortened_schedule_shrinks_the_warm_up_and_the_validation_interval():
    cfg = _nw_ucla_schedule()
    set_epochs(cfg, 2)  # ratio 0.05: 30 -> 1.5 -> 2, 36 -> 1.8 -> 2 (merged), warm-up 4 -> 0.2 -> at least 1
    warm_up, steps = cfg.param_scheduler
    assert steps.milestones == [2] and warm_up.end == 1 and cfg.train_cfg.val_interval == 2


def test_an_annealing_spans_the_run_an_iteration_warm_up_stays_and_no_validation_stays_none():
    # the student's schedule: a warm-up of 200 iterations, a cosine over the epochs, validation past the end
    cfg = Config(
        dict(
            train_cfg=dict(max_epochs=10, val_interval=11),
            param_scheduler=[
                dict(type="LinearLR", by_epoch=False, begin=0, end=200),
                dict(type="CosineAnnealingLR", by_epoch=True, begin=0, end=10, T_max=10),
            ],
        )
    )
    set_epochs(cfg, 3)
    warm_up, cosine = cfg.param_scheduler
    assert warm_up.end == 200 and cosine.T_max == cosine.end == 3 and cfg.train_cfg.val_interval == 4
    set_epochs(cfg, 30)
    assert cosine.T_max == cosine.end == 30 and cfg.train_cfg.val_interval == 31
