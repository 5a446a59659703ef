"""`posekit predict --split` and, for a file of --format, `--layout` and `-O` as `posekit convert` takes them;
its errors name the file the user gave, never the temporary store a file is imported into."""

import json

import numpy as np
import pytest
from click.testing import CliRunner

from posekit.cli import main
from posekit.sample import IMAGE_SIZE
from posekit.store import SkeletonStore
from tests.crafted import assert_one_line_error

from .test_train import tiny_config


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def predictions(result) -> dict[str, tuple[str, str]]:
    assert result.exit_code == 0, result.output
    return {clip_id: (label, probability) for clip_id, label, probability in map(str.split, result.stdout.splitlines())}


@pytest.fixture(scope="module")
def checkpoint(sample_store, tmp_path_factory):
    """A model trained with a small learning rate: its scores fall short of one-hot, so they tell inputs apart."""
    tmp = tmp_path_factory.mktemp("predict")
    config = tmp / "gentle.py"
    config.write_text(f'_base_ = ["{tiny_config(tmp)}"]\noptim_wrapper = dict(optimizer=dict(lr=0.001))\n')
    result = invoke("train", "unik", "--store", sample_store, "--work-dir", tmp / "run", "--config", config)
    assert result.exit_code == 0, result.output
    return tmp / "run" / "best.pth"


def unnamed_npz(store_path, path, image_size=IMAGE_SIZE):
    """The store's clips as a lab's .npz: stacked with lengths, ids and splits, joints in COCO order, unnamed."""
    with SkeletonStore(store_path) as store:
        clips = list(store)
    arrays = dict(
        keypoints=np.concatenate([c.keypoints for c in clips]),
        scores=np.concatenate([c.scores for c in clips]),
        lengths=np.array([c.num_frames for c in clips]),
        id=np.array([c.id for c in clips]),
        split=np.array(["+".join(c.splits) for c in clips]),
    )
    if image_size is not None:
        arrays["image_size"] = np.array(image_size)
    np.savez(path, **arrays)
    return path


def test_split_labels_only_the_clips_of_that_split(checkpoint, sample_store):
    every = predictions(invoke("predict", checkpoint, sample_store))
    test = predictions(invoke("predict", checkpoint, sample_store, "--split", "test"))
    with SkeletonStore(sample_store) as store:
        expected = [store.ids[i] for i in store.split("test")]
    assert list(test) == expected and len(every) == len(store.ids) > len(test)
    assert all(every[clip_id] == test[clip_id] for clip_id in test)
    missing = invoke("predict", checkpoint, sample_store, "--split", "val")
    assert_one_line_error(missing)
    assert f"{sample_store}: no split 'val'" in missing.output


def test_a_file_of_unnamed_joints_is_read_with_its_layout(checkpoint, sample_store, tmp_path):
    lab = unnamed_npz(sample_store, tmp_path / "lab.npz")
    refused = invoke("predict", checkpoint, lab, "--format", "npz")
    assert_one_line_error(refused)
    assert refused.output.startswith(f"posekit: error: {lab}: layout 'generic-17' shares no joint")
    assert "--layout" in refused.output and "input.h5" not in refused.output
    in_coco_order = ["--format", "npz", "--layout", "coco-17", "-O", "joint_order=layout"]
    for source, output in ((lab, "lab.json"), (sample_store, "store.json")):
        options = in_coco_order if source == lab else []
        assert invoke("predict", checkpoint, source, *options, "-o", tmp_path / output).exit_code == 0
    read, stored = (json.loads((tmp_path / name).read_text()) for name in ("lab.json", "store.json"))
    assert any(p["probability"] < 0.99 for p in stored)  # scores that tell inputs apart
    assert [p["id"] for p in read] == [p["id"] for p in stored]  # the same clips, scored alike
    for a, b in zip(read, stored):
        assert [name for name, _ in a["top5"]] == [name for name, _ in b["top5"]]
        np.testing.assert_allclose([p for _, p in a["top5"]], [p for _, p in b["top5"]], rtol=1e-5)
    test = predictions(invoke("predict", checkpoint, lab, *in_coco_order, "--split", "test"))
    assert test == predictions(invoke("predict", checkpoint, sample_store, "--split", "test"))


def test_every_error_names_the_file_given(checkpoint, sample_store, tmp_path):
    lab = unnamed_npz(sample_store, tmp_path / "lab.npz", image_size=None)
    base = ["predict", checkpoint, lab, "--format", "npz", "--layout", "coco-17", "-O", "joint_order=layout"]
    for extra, problem in (([], "unknown image size"), (["--split", "val"], "no split 'val'")):
        result = invoke(*base, *extra)
        assert_one_line_error(result)
        assert result.output.startswith(f"posekit: error: {lab}: ") and problem in result.output
        assert "input.h5" not in result.output
    unnamed = invoke("predict", checkpoint, lab, "--format", "npz", "--layout", "coco-17")
    assert_one_line_error(unnamed)
    assert unnamed.output.startswith(f"posekit: error: {lab}: 17 joints without names")


def test_layout_and_reader_options_go_with_format(checkpoint, sample_store):
    for option in (["--layout", "coco-17"], ["-O", "joint_order=layout"]):
        result = invoke("predict", checkpoint, sample_store, *option)
        assert result.exit_code == 2 and "they go with --format" in result.output
    malformed = invoke("predict", checkpoint, sample_store, "--format", "npz", "-O", "joint_order")
    assert_one_line_error(malformed)
    assert "-O 'joint_order': reader options are KEY=VALUE" in malformed.output
