"""posekit refine on layouts without a neck joint: SST-A's head and neck come from the layout's derived joints."""

import json

import numpy as np
import pytest
from click.testing import CliRunner

from posekit.cli import main
from posekit.layouts import Layout, get_layout
from posekit.store import SkeletonStore
from tests.crafted import assert_one_line_error
from tests.refine.test_refine_store import write_proposals

COCO = get_layout("coco-17")


def coco_walk(frames: int) -> np.ndarray:
    """(T, 1, 17, 2) a person walking; nose 20 px above the shoulders' midpoint (102, 100), shoulders uneven."""
    pose = np.random.default_rng(0).uniform(60, 200, (COCO.num_joints, 2))
    pose[COCO.index("nose")] = (102, 80)
    pose[COCO.index("left_shoulder")] = (88, 104)  # alone 27.8 px from the nose: the midpoint is what counts
    pose[COCO.index("right_shoulder")] = (116, 96)
    return (pose + np.arange(frames)[:, None, None] * (1.5, 0.5))[:, None]


def test_coco_proposals_refine_with_the_neck_derived_from_the_shoulders(tmp_path):
    pose = coco_walk(6)
    ids = np.zeros((6, 1), int)
    experts = {"a": (pose, ids), "b": (pose, ids), "c": (pose + (3, 4), ids)}  # c is 5 px off on every joint
    proposals = write_proposals(tmp_path / "coco.h5", {"walk": experts}, layout=COCO)
    result = CliRunner().invoke(
        main, ["refine", str(proposals), "-o", str(tmp_path / "refined.h5"), "--report", str(tmp_path / "report")]
    )
    assert result.exit_code == 0, result.output
    refined = SkeletonStore(tmp_path / "refined.h5")
    assert refined.layout.name == "coco-17" and refined.layout.num_joints == 17  # the derived neck is not stored
    clip = refined[0]
    np.testing.assert_array_equal(clip.keypoints, pose.astype(np.float32))  # a and b agree: a's estimate
    # eq. 3.4: the experts are 0, 0 and 5 px from the fused joints, a mean of 5/3 px; D_normal = |nose - neck| with
    # the neck the shoulders' midpoint (102, 100): 20 px. C = exp(-(5/3) / 20).
    np.testing.assert_allclose(clip.scores, np.exp(-1 / 12), rtol=1e-6)
    experts_report = json.loads((tmp_path / "report" / "report.json").read_text())["overall"]["experts"]
    assert experts_report["c"]["mean_distance_to_fused"] == pytest.approx(5 / 20)  # in head lengths of 20 px


def test_a_layout_with_nothing_to_derive_a_neck_from_is_a_one_line_error(tmp_path):
    penn = get_layout("penn-13")  # a head joint, shoulders, but no neck and no rule for one
    mouse = Layout(name="mouse-2", joints=("snout", "tailbase"))
    for layout, missing in ((penn, "derives no neck;"), (mouse, "derives no head and neck;")):
        pose = np.random.default_rng(1).uniform(0, 100, (3, 1, layout.num_joints, 2))
        ids = np.zeros((3, 1), int)
        path = write_proposals(
            tmp_path / f"{layout.name}.h5", {"v": {"a": (pose, ids), "b": (pose, ids)}}, layout=layout
        )
        result = CliRunner().invoke(main, ["refine", str(path), "-o", str(tmp_path / f"{layout.name}_refined.h5")])
        assert_one_line_error(result)
        assert f"layout {layout.name!r} names no head and neck joint" in result.output and missing in result.output
        assert not (tmp_path / f"{layout.name}_refined.h5").exists()
