"""posekit retarget and posekit compose: the stored result is the generator's output on the same clips (padded,
filled, placed), the inputs travel with it, and bad references, layouts and existing outputs are one line."""

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from posekit import checkpoints
from posekit.cli.motion import compose, retarget
from posekit.errors import PosekitError
from posekit.motion import load_generator
from posekit.store import Clip, SkeletonStore, StoreWriter
from posekit.train.motion_generator import train
from posekit.zoo import models_dir
from tests.synth.tiny import LAYOUT
from tests.train.test_motion_generator_train import views  # noqa: F401  the renders of the tiny 3D store

ROOT = LAYOUT.index("spine")  # the layout's centre: the generator's root
LONG, SHORT = 37, 21  # neither a multiple of 8: padded to 40 and 24, cropped back
HOLE = (7, slice(3, 6))  # the left hand, missing in frames 3..5 of the short clip


@pytest.fixture(scope="module")
def checkpoint(views, tmp_path_factory):  # noqa: F811
    """A generator trained one epoch on the renders, through posekit train motion-generator's code."""
    folder = tmp_path_factory.mktemp("generator")
    config = folder / "tiny.py"
    config.write_text(
        f"_base_ = [{str(models_dir() / 'motion_generator/motion-generator_1xb64_nw-ucla-views.py')!r}]\n"
        "pairs = dict(window=16, stride=16)\ntrain_dataloader = dict(dataset=pairs)\n"
        "val_dataloader = dict(dataset=pairs)\ntest_dataloader = dict(dataset=pairs)\n"
    )
    return train(views, folder / "run", config=str(config), epochs=1, batch_size=8, workers=0, seed=0)["checkpoint"]


@pytest.fixture(scope="module")
def inputs(views, tmp_path_factory):  # noqa: F811
    """Two renders of different motions, bodies and views, cut to 37 and 21 frames; the short one misses a hand."""
    path = tmp_path_factory.mktemp("inputs") / "inputs.h5"
    with SkeletonStore(views) as store:
        walk = store[store.index_of("m0_b0_v0")].keypoints[:LONG]
        other = store[store.index_of("m2_b1_v2")].keypoints[:SHORT].copy()
    joint, frames = HOLE
    other[frames, 0, joint] = np.nan
    with StoreWriter(path, LAYOUT, coord_dims=2, coordinates="metric") as writer:
        writer.add(Clip(id="walk", keypoints=walk, fps=30.0))
        writer.add(Clip(id="other", keypoints=other, fps=30.0))
    return path, walk[:, 0].astype(np.float64), other[:, 0].astype(np.float64)


def filled_by_hand(other: np.ndarray) -> np.ndarray:
    """The hole closed on the straight line from frame 2 to frame 6."""
    joint, _ = HOLE
    out = other.copy()
    for t in (3, 4, 5):
        out[t, joint] = other[2, joint] + (other[6, joint] - other[2, joint]) * (t - 2) / 4
    return out


def padded(net, joints: np.ndarray, length: int) -> torch.Tensor:
    tail = np.repeat(joints[-1:], length - len(joints), axis=0)
    return net.to_features(torch.from_numpy(np.concatenate([joints, tail])).float()[None])


def run(command, args):
    return CliRunner().invoke(command, [str(a) for a in args])


def test_the_loaded_generator_holds_the_checkpoints_weights(checkpoint):
    net, layout = load_generator(checkpoint)
    weights = checkpoints.load(checkpoint)["state_dict"]
    assert layout.joints == LAYOUT.joints and not net.training
    for name, value in net.state_dict().items():
        torch.testing.assert_close(value, weights[f"net.{name}"])


def test_retarget_stores_the_inputs_and_the_generators_retargeting(checkpoint, inputs, tmp_path):
    store, walk, other = inputs
    output = tmp_path / "out.h5"
    result = run(retarget, [checkpoint, "--motion", f"{store}:walk", "--like", f"{store}:1", "-o", output])
    assert result.exit_code == 0, result.output
    assert f"({LONG} frames; filled missing joint positions by interpolation: 3 in like) -> {output}" in result.output
    net, _ = load_generator(checkpoint)
    with torch.no_grad():
        expected = net.to_joints(net.retarget(padded(net, walk, 40), padded(net, filled_by_hand(other), 24)))
    expected = expected[0, :LONG].double().numpy() + other[0, ROOT]  # placed where the like clip starts
    with SkeletonStore(output) as out:
        assert list(out.ids) == ["motion", "like", "result"]
        np.testing.assert_allclose(out[2].keypoints[:, 0], expected, rtol=1e-5, atol=1e-5)
        np.testing.assert_array_equal(out[0].keypoints[:, 0], walk.astype(np.float32))
        np.testing.assert_array_equal(out[1].keypoints[:, 0], other.astype(np.float32))  # the hole kept
        step = out.provenance[-1]
    assert step["step"] == "retarget" and step["motion"] == f"{store}:walk" and step["like"] == f"{store}:other"
    assert step["padded_to"] == 40 and step["filled_joint_positions"] == {"motion": 0, "like": 3}


def test_compose_is_eq_4_5_on_clips_padded_to_the_longer_one(checkpoint, inputs, tmp_path):
    store, walk, other = inputs
    output = tmp_path / "mix.h5"
    result = run(compose, [checkpoint, f"{store}:other", f"{store}:walk", "-o", output])
    assert result.exit_code == 0, result.output
    net, _ = load_generator(checkpoint)
    with torch.no_grad():  # D((r_m(a) + r_m(b)) / 2 + r_c(a)), from the encoder's magnitudes
        (motion_a, static_a), (motion_b, _) = (net.encode(padded(net, x, 40)) for x in (filled_by_hand(other), walk))
        expected = net.to_joints(net.decode((motion_a + motion_b) / 2, static_a))[0, :LONG].double().numpy()
    with SkeletonStore(output) as out:
        assert list(out.ids) == ["a", "b", "result"]
        np.testing.assert_allclose(out[2].keypoints[:, 0], expected + other[0, ROOT], rtol=1e-5, atol=1e-5)
        assert out.provenance[-1]["step"] == "compose" and out.provenance[-1]["b"] == f"{store}:walk"


@pytest.mark.parametrize(
    "ref, message",
    [
        ("{store}:nope", "inputs.h5: no clip 'nope' (ids: walk, other; or an index 0..1)"),
        ("{store}:2", "inputs.h5: no clip '2'"),
        ("{store}", "expected STORE:CLIP"),
    ],
)
def test_a_bad_clip_reference_is_one_line(checkpoint, inputs, tmp_path, ref, message):
    store = inputs[0]
    result = run(
        retarget,
        [checkpoint, "--motion", ref.format(store=store), "--like", f"{store}:walk", "-o", tmp_path / "out.h5"],
    )
    assert isinstance(result.exception, PosekitError) and message in str(result.exception)
    assert "\n" not in str(result.exception) and not (tmp_path / "out.h5").exists()


def test_another_layout_and_a_joint_never_seen_are_one_line(checkpoint, inputs, tmp_path):
    store, walk, _ = inputs
    with StoreWriter(tmp_path / "coco.h5", "coco-17", coord_dims=2) as writer:
        writer.add(Clip(id="x", keypoints=np.zeros((20, 1, 17, 2), np.float32)))
    result = run(
        retarget,
        [checkpoint, "--motion", f"{tmp_path / 'coco.h5'}:x", "--like", f"{store}:walk", "-o", tmp_path / "out.h5"],
    )
    assert "coco.h5: layout 'coco-17' (17 joints), the model's is 'kinect-v1-20'" in str(result.exception)
    headless = walk[:, None].astype(np.float32).copy()
    headless[:, :, LAYOUT.index("head")] = np.nan
    with StoreWriter(tmp_path / "headless.h5", LAYOUT, coord_dims=2) as writer:
        writer.add(Clip(id="x", keypoints=headless))
    result = run(compose, [checkpoint, f"{tmp_path / 'headless.h5'}:0", f"{store}:walk", "-o", tmp_path / "out.h5"])
    assert str(result.exception) == (
        f"{tmp_path / 'headless.h5'}:x: joint 'head' is missing in every frame; the "
        f"generator needs every joint at least once"
    )


def test_an_existing_output_is_refused_without_force(checkpoint, inputs, tmp_path):
    store, output = inputs[0], tmp_path / "out.h5"
    output.write_text("someone's notes")
    args = [checkpoint, f"{store}:walk", f"{store}:other", "-o", output]
    result = run(compose, args)
    assert isinstance(result.exception, PosekitError) and "out.h5: exists; use --force" in str(result.exception)
    assert output.read_text() == "someone's notes"
    assert run(compose, args + ["--force"]).exit_code == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.h5"]  # neither a temporary nor a lock left
