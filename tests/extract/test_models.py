"""Experts that run a model: BlazePose on a short piece of a real video (skipped without ../shared/data) and on a
video with nobody, and an mmpose top-down model (random weights, saved in the test) batched over frames."""

import numpy as np
import pytest

from posekit.extract import extract_video
from posekit.extract.experts import build_expert, parse_experts
from posekit.extract.runner import extract
from posekit.extract.video import Video
from posekit.layouts import get_layout
from posekit.store import SkeletonStore
from tests.conftest import real_file

from .synthetic import blank_video


@pytest.fixture(scope="module")
def blazepose_experts():
    experts = [build_expert(s) for s in parse_experts("blazepose,blazepose+flip")]
    yield experts
    for expert in experts:
        expert.close()


def test_blazepose_and_its_flipped_run_agree_on_a_real_video(blazepose_experts):
    path = real_file("human_video/stgcn/ta_chi.mp4")  # 340x256, one person doing tai chi
    layout = get_layout("unik-17")
    plain, flipped = extract_video(Video("ta_chi", path), blazepose_experts, layout, max_persons=1, max_frames=10)
    assert plain.id == "ta_chi@blazepose" and flipped.id == "ta_chi@blazepose+flip"
    assert plain.num_frames == 10 and plain.image_size == (340, 256) and plain.fps == pytest.approx(29.97, abs=0.01)
    seen = (plain.track_id[:, 0] == 0) & (flipped.track_id[:, 0] == 0)
    assert seen.sum() >= 8  # the one person, found by both, in the same track
    a, b = plain.keypoints[seen, 0], flipped.keypoints[seen, 0]
    height = np.nanmax(a[..., 1]) - np.nanmin(a[..., 1])
    assert np.nanmedian(np.linalg.norm(a - b, axis=-1)) < 0.1 * height  # flipped back, left and right swapped back
    left, right = layout.index("left_wrist"), layout.index("right_wrist")
    assert np.nanmedian(np.linalg.norm(a[:, left] - b[:, left], axis=-1)) < np.nanmedian(
        np.linalg.norm(a[:, left] - b[:, right], axis=-1)
    )
    assert np.isfinite(plain.scores[seen, 0]).all() and (plain.scores[seen, 0] <= 1).all()


def test_blazepose_on_a_video_with_nobody_gives_empty_clips(tmp_path):
    blank_video(tmp_path / "nobody.mp4", frames=4)
    extract([tmp_path / "nobody.mp4"], tmp_path / "p.h5", experts=["blazepose", "blazepose+scale0.75"], progress=False)
    with SkeletonStore(tmp_path / "p.h5") as store:
        assert list(store.ids) == ["nobody@blazepose", "nobody@blazepose+scale0.75"]
        assert all(clip.num_frames == 4 and clip.num_persons == 0 for clip in store)


def test_mmpose_expert_batches_frames_like_mmpose_runs_one(tmp_path):
    from posekit.extract.experts.mmpose_topdown import MmposeTopDown

    config = "rtmpose-t_8xb256-420e_coco-256x192.py"  # shipped with mmpose
    expert = MmposeTopDown(config, checkpoint=_random_checkpoint(config, tmp_path / "random.pth"))
    assert expert.layout.name == "coco-17" and expert.name == "mmpose-rtmpose-t_8xb256-420e_coco-256x192"
    from mmpose.apis import inference_topdown

    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 255, (120, 160, 3), dtype=np.uint8) for _ in range(3)]
    for frame, found in zip(frames, expert.predict(frames, np.arange(3))):
        [reference] = inference_topdown(expert._model, frame)
        np.testing.assert_allclose(found.keypoints[0], reference.pred_instances.keypoints[0], atol=1e-3)
        np.testing.assert_allclose(found.scores[0], reference.pred_instances.keypoint_scores[0], atol=1e-5)


def _random_checkpoint(config, path):
    """A checkpoint with no weights: mmpose loads it non-strictly, so the model keeps its random initialisation
    (and takes its dataset meta from the config), without building the model a second time here."""
    import torch

    torch.save({"state_dict": {}}, path)
    return path
