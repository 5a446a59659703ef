"""The shipped dataset configs on the real stores: their pipelines build, and samples have the shapes and the
augmentations the config's comment promises (skipped without ../shared/data)."""

import numpy as np
from mmengine.config import Config

from posekit.convert import convert
from posekit.registry import DATASETS
from posekit.train.api import prepare_config
from posekit.train.overrides import config_path
from tests.conftest import real_file


def _datasets(config, fmt, source, tmp_path, stream="joint"):
    store = tmp_path / "store.h5"
    convert(fmt, [real_file(source)], store, progress=False)
    cfg = prepare_config(Config.fromfile(config_path("unik", config)), store, tmp_path / "run", stream=stream)
    # Built through the registry, as mmengine's Runner builds them for training
    return cfg, DATASETS.build(cfg.train_dataloader.dataset), DATASETS.build(cfg.test_dataloader.dataset)


def test_nw_ucla_config_samples_52_frames_rotates_only_about_x_and_y_and_min_max_scales(tmp_path):
    cfg, train, test = _datasets("unik/unik_1xb16-joint_nw-ucla.py", "nw-ucla", "actions/nw_ucla", tmp_path)
    assert len(test) == 464 and len(train) == round(1020 * 0.9)  # cross-view test; 10% of train held out
    a, b = test[0]["keypoints"].numpy(), test[0]["keypoints"].numpy()
    assert a.shape == (3, 52, 20, 1) and np.array_equal(a, b)  # test: the segments' middles, deterministic
    np.testing.assert_allclose(a.reshape(3, -1).min(1), -1.0, atol=1e-6)  # every axis spans [-1, 1]
    np.testing.assert_allclose(a.reshape(3, -1).max(1), 1.0, atol=1e-6)
    rotation = next(t for t in train.transform.transforms if type(t).__name__ == "RandomRotation")
    for _ in range(20):  # R = Ry Rx, no roll about z: the new height never takes a part of x
        assert rotation.matrix(3)[1, 0] == 0.0
    first, second = train[0]["keypoints"], train[0]["keypoints"]
    assert first.shape == (3, 52, 20, 1) and not np.array_equal(first, second)


def test_penn_action_config_crops_48_frames_and_mirrors_with_left_and_right_swapped(tmp_path):
    cfg, train, test = _datasets(
        "unik/unik_1xb16-joint_penn-action.py", "penn-action", "actions/penn_action/labels", tmp_path
    )
    assert cfg.train_cfg.max_epochs == 60 and len(test) == 1068
    assert train[0]["keypoints"].shape == (2, 48, 13, 1)
    clip = test.store.lengths[test.indices[0]]
    assert test[0]["keypoints"].shape == (2, clip, 13, 1)  # every frame at test
    flip = next(t for t in train.transform.transforms if type(t).__name__ == "RandomFlip")
    joints = list(train.layout.joints)
    assert joints[flip.order[joints.index("left_wrist")]] == "right_wrist" and flip.order[
        joints.index("head")
    ] == joints.index("head")


def test_nw_ucla_bone_stream_comes_after_the_sampling(tmp_path):
    _, _, test = _datasets("unik/unik_1xb16-joint_nw-ucla.py", "nw-ucla", "actions/nw_ucla", tmp_path, "bone")
    bones = test[0]["keypoints"]
    spine = test.layout.joints.index("spine")  # the layout's root: its own parent, so its bone is zero
    assert bones.shape == (3, 52, 20, 1) and np.allclose(bones[:, :, spine], 0.0)
    assert not np.allclose(bones[:, :, test.layout.joints.index("head")], 0.0)
