import json

import h5py
import numpy as np
from click.testing import CliRunner

from posekit.cli import main
from posekit.store import Clip, StoreWriter


def build(path, ids, classes=("a", "b"), split="train"):
    rng = np.random.default_rng(len(ids))
    with StoreWriter(path, "coco-17", coord_dims=2, classes=list(classes), provenance={"step": "test"}) as w:
        for i, clip_id in enumerate(ids):
            w.add(
                Clip(id=clip_id, keypoints=rng.normal(size=(4 + i, 1, 17, 2)), label=i % len(classes), splits=(split,))
            )
    return path


def run(*args):
    result = CliRunner().invoke(main, [str(a) for a in args])
    return result.exit_code, result.output


def test_store_info_json_has_the_promised_keys(tmp_path):
    path = build(tmp_path / "s.h5", ["x", "y", "z"])
    code, out = run("store", "info", path, "--json")
    assert code == 0
    info = json.loads(out)
    assert (info["num_clips"], info["num_frames"], info["layout"], info["num_joints"], info["coord_dims"]) == (
        3,
        4 + 5 + 6,
        "coco-17",
        17,
        2,
    )
    assert info["splits"] == {"train": 3}
    code, out = run("store", "info", path)
    assert code == 0 and "3 clips, 15 frames" in out and "coco-17 (17 joints)" in out


def test_validate_passes_a_good_store_and_fails_a_broken_one(tmp_path):
    path = build(tmp_path / "s.h5", ["x", "y"])
    code, out = run("store", "validate", path)
    assert code == 0 and "valid posekit store" in out
    with h5py.File(path, "r+") as f:
        f["clips/label"][0] = 7
    code, out = run("store", "validate", path)
    assert code == 1 and "labels outside the 2 classes" in out


def test_merge_command(tmp_path):
    a = build(tmp_path / "a.h5", ["x", "y"])
    b = build(tmp_path / "b.h5", ["z"], classes=("b", "c"), split="test")
    code, out = run("store", "merge", a, b, "-o", tmp_path / "c.h5")
    assert code == 0 and "merged 2 + 1 clips" in out
    code, out = run("store", "info", tmp_path / "c.h5", "--json")
    info = json.loads(out)
    assert info["num_clips"] == 3 and info["num_classes"] == 3 and info["splits"] == {"train": 2, "test": 1}


def test_errors_are_one_line_with_a_non_zero_exit(tmp_path):
    code, out = run("store", "info", tmp_path / "nope.h5")
    assert code == 2 and out.strip() == f"posekit: error: {tmp_path / 'nope.h5'}: no such store file"
    (tmp_path / "junk.h5").write_bytes(b"\x00" * 100)
    code, out = run("store", "info", tmp_path / "junk.h5")
    assert code == 2 and len(out.strip().splitlines()) == 1 and "junk.h5" in out
    a = build(tmp_path / "a.h5", ["x"])
    code, out = run("store", "merge", a, a, "-o", tmp_path / "c.h5")
    assert code == 2 and "clip ids also in" in out and not (tmp_path / "c.h5").exists()


def test_convert_refuses_to_overwrite_and_names_missing_sources(tmp_path):
    existing = build(tmp_path / "s.h5", ["x"])
    code, out = run("convert", "npz", tmp_path, "-o", existing)
    assert code == 2 and "exists; use --force" in out
    code, out = run("convert", "npz", tmp_path / "missing", "-o", tmp_path / "new.h5")
    assert code == 2 and "missing: no such file or folder" in out
    assert not (tmp_path / "new.h5").exists()


def test_layouts_command_lists_the_registry():
    code, out = run("layouts")
    assert code == 0 and "unik-17" in out and "blazepose-33" in out


def test_layouts_name_prints_joints_in_order_bones_and_interpolations():
    code, out = run("layouts", "kinect-v1-20")
    lines = out.splitlines()
    assert code == 0 and lines[0].startswith("kinect-v1-20: 20 joints; Kinect v1 20 joints")
    joints = lines[lines.index("joints, in order:") + 1 :][:20]
    assert (
        joints[:4]
        == ["    0 hip_center", "    1 spine  (centre)", "    2 shoulder_center  (neck)", "    3 head  (head)"]
        and joints[19] == "   19 right_foot"
    )
    assert "bones (joint - parent, towards the centre): 19" in lines and "  head - shoulder_center" in lines
    assert "up: +y (in its metric coordinates)" in lines
    code, out = run("layouts", "unik-17")
    assert (
        "filled when a source lacks them, with the mean of:" in out
        and "  neck = left_shoulder + right_shoulder" in out.splitlines()
    )
    code, out = run("layouts", "kinect-v2")
    assert (
        code == 2
        and out.startswith("posekit: error: unknown layout 'kinect-v2': use one of ")
        and len(out.strip().splitlines()) == 1
    )


def test_store_info_names_the_classes_abbreviated_when_many(tmp_path):
    few = build(tmp_path / "few.h5", ["x", "y"], classes=("walk", "run"))
    code, out = run("store", "info", few)
    assert code == 0 and "classes 2 (2 clips labelled): walk, run; splits: train 2" in out
    many = build(tmp_path / "many.h5", ["x"], classes=[f"action {k}" for k in range(60)])
    code, out = run("store", "info", many)
    assert (
        "classes 60 (1 clips labelled): action 0, action 1, action 2, action 3, action 4, action 5, ... "
        "(52 more), action 58, action 59; splits"
    ) in out
    code, out = run("store", "info", many, "--json")
    assert json.loads(out)["classes"] == [f"action {k}" for k in range(60)]
