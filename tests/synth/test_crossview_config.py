"""The cross-view config (thesis Table 4.14, Mixamo-style): training sees yaw -90, -30, 30 and 90 only, validation
and test yaw -60, 0 and 60 only, every body in both."""

import numpy as np
from mmengine.config import Config

from posekit.store import SkeletonStore
from posekit.synth import THESIS_YAWS
from posekit.synth.render import synth_views
from posekit.train.retarget_pairs import RetargetPairs
from posekit.zoo import models_dir
from tests.synth.tiny import write_tiny_store

CONFIG = models_dir() / "motion_generator/motion-generator_1xb64_nw-ucla-crossview.py"


def test_crossview_holds_out_views_not_bodies(tmp_path):
    write_tiny_store(tmp_path / "tiny.h5", motions=3, frames=40)
    synth_views(tmp_path / "tiny.h5", tmp_path / "views.h5", bodies=2, yaws=THESIS_YAWS, split="train", progress=False)
    with SkeletonStore(tmp_path / "views.h5") as store:
        yaw_of = dict(zip(store.feature("view_id")[:, 0].astype(int).tolist(), store.feature("view_angles")[:, 0]))
    cfg = Config.fromfile(CONFIG)
    seen = {}
    for loader in ("train_dataloader", "val_dataloader", "test_dataloader"):
        options = {k: v for k, v in cfg[loader].dataset.items() if k != "type"}
        pairs = RetargetPairs(**dict(options, store=str(tmp_path / "views.h5")))
        views = {view for _, view in pairs.statics}
        seen[loader] = ({body for body, _ in pairs.statics}, sorted(yaw_of[view] for view in views))
    assert seen["train_dataloader"] == ({0, 1}, [-90, -30, 30, 90])
    assert seen["val_dataloader"] == seen["test_dataloader"] == ({0, 1}, [-60, 0, 60])
    assert np.isclose(sorted(yaw_of.values()), THESIS_YAWS).all()
