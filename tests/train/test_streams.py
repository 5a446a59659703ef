"""``posekit train unik --streams``: one model per stream, resumable, fused with pyskl's weights."""

import json
import pickle

import numpy as np
import pytest
from click.testing import CliRunner

from posekit.cli import main
from posekit.train.metric import accuracy
from posekit.train.streams import parse_weights

from .test_train import run, tiny_config


def test_default_weights_are_pyskls_and_given_weights_must_match_the_streams():
    assert parse_weights(None, ["joint", "bone", "joint-motion", "bone-motion"]) == [2.0, 2.0, 1.0, 1.0]
    assert parse_weights("1,3", ["joint", "bone"]) == [1.0, 3.0]
    with pytest.raises(Exception, match="2 weights for 3 streams"):
        parse_weights("1,3", ["joint", "bone", "bone-motion"])


def test_streams_train_each_into_its_folder_fuse_and_skip_what_is_finished(sample_store, tmp_path):
    config, work_dir = tiny_config(tmp_path), tmp_path / "four"
    args = ("train", "unik", "--store", sample_store, "--config", config, "--work-dir", work_dir, "--holdout", "0")
    out = run(*args, "--streams", "joint,bone-motion")
    for stream in ("joint", "bone-motion"):
        assert json.loads((work_dir / stream / "metrics.json").read_text())["stream"] == stream
    summary = json.loads((work_dir / "metrics.json").read_text())
    assert summary["weights"] == {"joint": 2.0, "bone-motion": 1.0} and summary["skipped"] == []
    # the fusion by hand: 2 x joint + 1 x bone-motion scores, clip by clip
    runs = [pickle.loads((work_dir / s / "scores.pkl").read_bytes()) for s in ("joint", "bone-motion")]
    assert runs[0]["ids"] == runs[1]["ids"]
    by_hand = accuracy(2 * runs[0]["scores"] + runs[1]["scores"], runs[0]["labels"])
    assert summary["top1"] == pytest.approx(by_hand["top1"]) and f"test top-1 {by_hand['top1']:.2f}%" in out
    assert summary["streams"]["joint"]["top1"] == pytest.approx(accuracy(runs[0]["scores"], runs[0]["labels"])["top1"])

    joint_checkpoint = (work_dir / "joint" / "best.pth").stat().st_mtime_ns
    again = run(*args, "--streams", "joint,bone-motion", "--weights", "1,1")
    assert again.count("trained before, skipped") == 2
    assert (work_dir / "joint" / "best.pth").stat().st_mtime_ns == joint_checkpoint
    fused = pickle.loads((work_dir / "scores.pkl").read_bytes())
    np.testing.assert_allclose(fused["scores"], runs[0]["scores"] + runs[1]["scores"])


def test_streams_refuse_a_stream_also_given_alone_and_unknown_names(sample_store, tmp_path):
    base = ["train", "unik", "--store", str(sample_store), "--work-dir", str(tmp_path / "w")]
    both = CliRunner().invoke(main, [*base, "--streams", "joint,bone", "--stream", "bone"])
    assert both.exit_code != 0 and "either --stream or --streams" in both.output
    unknown = CliRunner().invoke(main, [*base, "--streams", "joint,velocity"])
    assert unknown.exit_code != 0 and "comma-separated list of joint, bone" in unknown.output
    lonely = CliRunner().invoke(main, [*base, "--weights", "1,2"])
    assert lonely.exit_code != 0 and "--weights goes with --streams" in lonely.output
