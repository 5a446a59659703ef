"""posekit refine and posekit show from the command line: outputs, messages, errors, frame-exact drawing."""

import json
import subprocess
import sys

import numpy as np
import pytest
from click.testing import CliRunner

from posekit.cli import main
from posekit.store import Clip, StoreWriter
from tests.conftest import real_file
from tests.refine.test_refine_store import NECK, track_poses, write_proposals

FRAMES, WIDTH, HEIGHT = 12, 160, 120


@pytest.fixture
def proposals(tmp_path):
    """Video 'clip' (12 frames): one person, 3 experts, seen in video frames 5, 7, ..., 15 (the last 2 beyond its
    end)."""
    rng = np.random.default_rng(0)
    pose = track_poses(rng, 6) * 0.5  # inside the 160 x 120 frame
    clips = {e: (pose[:, None] + rng.normal(0, 1, (6, 1) + pose.shape[1:]), np.full((6, 1), 5)) for e in "abc"}
    return write_proposals(tmp_path / "proposals.h5", {"clip": clips}, image_size=(WIDTH, HEIGHT))


def black_video(path):
    import cv2

    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 25, (WIDTH, HEIGHT))
    for _ in range(FRAMES):
        writer.write(np.zeros((HEIGHT, WIDTH, 3), np.uint8))
    writer.release()
    return path


def read_video(path):
    import cv2

    capture, frames = cv2.VideoCapture(str(path)), []
    while True:
        ok, image = capture.read()
        if not ok:
            return np.array(frames)
        frames.append(image)


def test_refine_writes_store_and_report(proposals, tmp_path):
    runner = CliRunner()
    result = runner.invoke(
        main,
        [
            "refine",
            str(proposals),
            "-o",
            str(tmp_path / "r.h5"),
            "--report",
            str(tmp_path / "report"),
            "--gamma",
            "0.2",
        ],
    )
    assert result.exit_code == 0, result.output
    assert f"-> {tmp_path / 'r.h5'}" in result.output and "6 person-frames" in result.output
    report = json.loads((tmp_path / "report" / "report.json").read_text())
    assert report["gamma"] == 0.2 and report["overall"]["person_frames"] == 6
    again = runner.invoke(main, ["refine", str(proposals), "-o", str(tmp_path / "r.h5")])
    assert again.exit_code == 2 and "exists" in again.output


def test_refine_refuses_an_earlier_report_or_student_unless_forced(proposals, tmp_path):
    runner, output, report = CliRunner(), tmp_path / "r.h5", tmp_path / "report"
    report.mkdir()
    (report / "confidence.png").write_text("an earlier run's figure")
    result = runner.invoke(main, ["refine", str(proposals), "-o", str(output), "--report", str(report)])
    assert result.exit_code == 2 and f"{report / 'confidence.png'}: exists; use --force" in result.output
    (tmp_path / "r_student").mkdir()
    result = runner.invoke(main, ["refine", str(proposals), "-o", str(output), "--train-student"])
    assert result.exit_code == 2 and f"{tmp_path / 'r_student'}: exists; use --force" in result.output
    assert not output.exists() and (report / "confidence.png").read_text() == "an earlier run's figure"
    forced = runner.invoke(main, ["refine", str(proposals), "-o", str(output), "--report", str(report), "--force"])
    assert forced.exit_code == 0, forced.output
    assert output.is_file() and (report / "confidence.png").read_bytes().startswith(b"\x89PNG")


# A refine that dies while writing its store, as a killed one does: no clean-up of its own runs.
KILLED_REFINE = """
import os, sys
import posekit.refine.store as refine
refine.refine_video = lambda *args, **kwargs: os._exit(9)
refine.refine_store(sys.argv[1], sys.argv[2], progress=False)
"""


def test_a_killed_refine_leaves_one_temporary_that_the_next_run_removes(proposals, tmp_path):
    output = tmp_path / "r.h5"
    assert subprocess.run([sys.executable, "-c", KILLED_REFINE, str(proposals), str(output)]).returncode == 9
    [left] = [p for p in tmp_path.iterdir() if p != proposals]  # not a temporary of a temporary besides
    assert left.name.startswith(".r.h5.") and left.name.endswith(".tmp")
    result = CliRunner().invoke(main, ["refine", str(proposals), "-o", str(output)])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["proposals.h5", "r.h5"]


def test_refine_with_one_expert_is_a_one_line_error(tmp_path):
    pose = track_poses(np.random.default_rng(1), 3)[:, None]
    path = write_proposals(tmp_path / "one.h5", {"v": {"a": (pose, np.zeros((3, 1), int))}}, experts=["a"])
    result = CliRunner().invoke(main, ["refine", str(path), "-o", str(tmp_path / "r.h5")])
    assert result.exit_code == 2
    assert result.output.startswith("posekit: error: ") and result.output.count("\n") == 1
    assert "at least 2 experts" in result.output and not (tmp_path / "r.h5").exists()


def test_an_error_of_pose_refine_is_a_one_line_error(proposals, tmp_path, monkeypatch):
    import posekit.refine.store
    from pose_refine.errors import RefineError

    message = "sst_aggregate: head and neck must be different joints (D_normal would be 0)"

    def refuse(*args, **kwargs):
        raise RefineError(message)

    monkeypatch.setattr(posekit.refine.store, "refine_video", refuse)
    result = CliRunner().invoke(main, ["refine", str(proposals), "-o", str(tmp_path / "r.h5")])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert result.output.split("\r")[-1] == f"posekit: error: {message}\n"  # where the progress bar was


def test_show_draws_on_the_frames_of_the_clip_only(proposals, tmp_path):
    runner = CliRunner()
    assert runner.invoke(main, ["refine", str(proposals), "-o", str(tmp_path / "r.h5")]).exit_code == 0
    video = black_video(tmp_path / "clip.mp4")  # the store's source is videos/clip.mp4: matched by name
    result = runner.invoke(
        main, ["show", str(tmp_path / "r.h5"), "--video", str(video), "-o", str(tmp_path / "drawn.mp4")]
    )
    assert result.exit_code == 0, result.output
    assert "on 4 of 12 frames" in result.output and "(2 store frames lie beyond the video's end)" in result.output
    frames = read_video(tmp_path / "drawn.mp4")
    assert frames.shape == (FRAMES, HEIGHT, WIDTH, 3)
    drawn = (frames.max(axis=-1) > 100).sum(axis=(1, 2))
    on = 5 + 2 * np.arange(4)  # write_proposals puts clip frame t at video frame 5 + 2t
    assert (drawn[on] > 50).all()
    assert (drawn[np.setdiff1d(np.arange(FRAMES), on)] == 0).all()
    assert not list(tmp_path.glob(".*tmp*"))  # no temporary left behind


def test_show_draws_every_expert_of_a_proposals_video(proposals, tmp_path):
    video = black_video(tmp_path / "any_name.mp4")
    result = CliRunner().invoke(
        main, ["show", str(proposals), "--video", str(video), "--clip", "clip", "-o", str(tmp_path / "experts.mp4")]
    )
    assert result.exit_code == 0, result.output
    assert "clip@a, clip@b, clip@c" in result.output
    frames = read_video(tmp_path / "experts.mp4")
    assert len(frames) == FRAMES and (frames[5].max(axis=-1) > 100).sum() > 50
    one = CliRunner().invoke(
        main, ["show", str(proposals), "--video", str(video), "--clip", "clip@b", "-o", str(tmp_path / "b.mp4")]
    )
    assert one.exit_code == 0 and "drew clip@b on 4 of 12 frames" in one.output


def test_show_refuses_a_video_of_another_size(proposals, tmp_path):
    import cv2

    writer = cv2.VideoWriter(str(tmp_path / "clip.mp4"), cv2.VideoWriter_fourcc(*"mp4v"), 25, (64, 48))
    writer.write(np.zeros((48, 64, 3), np.uint8))
    writer.release()
    result = CliRunner().invoke(
        main, ["show", str(proposals), "--video", str(tmp_path / "clip.mp4"), "-o", str(tmp_path / "o.mp4")]
    )
    assert result.exit_code == 2 and "160x120" in result.output and not (tmp_path / "o.mp4").exists()


def test_show_on_a_real_video_changes_only_the_frames_of_the_clip(tmp_path):
    video = real_file("human_video/stgcn/ta_chi.mp4")  # 340 x 256, 300 frames
    rng = np.random.default_rng(5)
    pose = track_poses(rng, 10)  # x, y in 100..215: inside the frame
    clips = {e: (pose[:, None] + rng.normal(0, 1, (10, 1) + pose.shape[1:]), np.full((10, 1), 2)) for e in "ab"}
    with StoreWriter(tmp_path / "p.h5", "unik-17", coord_dims=2) as writer:
        for expert, (keypoints, track_id) in clips.items():
            writer.add(
                Clip(
                    id=f"ta_chi@{expert}",
                    keypoints=keypoints,
                    track_id=track_id,
                    frame_index=np.arange(100, 110),
                    image_size=(340, 256),
                    source=str(video),
                )
            )
    runner = CliRunner()
    assert runner.invoke(main, ["refine", str(tmp_path / "p.h5"), "-o", str(tmp_path / "r.h5")]).exit_code == 0
    result = runner.invoke(main, ["show", str(tmp_path / "r.h5"), "--video", str(video), "-o", str(tmp_path / "o.mp4")])
    assert result.exit_code == 0, result.output
    before, after = read_video(video), read_video(tmp_path / "o.mp4")
    assert after.shape == before.shape == (300, 256, 340, 3)
    difference = np.maximum(after, before) - np.minimum(after, before)  # uint8 |after - before|
    changed = (difference.max(axis=-1) > 120).sum(axis=(1, 2))  # beyond re-encoding noise
    assert (changed[100:110] > 50).all() and (changed[:100] < 10).all() and (changed[110:] < 10).all()


def test_refine_reports_a_store_where_no_frame_has_a_confidence(tmp_path):
    pose = track_poses(np.random.default_rng(6), 4)[:, None]
    pose[:, :, NECK] = np.nan  # no expert gives the neck: C is undefined everywhere
    ids = np.zeros((4, 1), int)
    path = write_proposals(tmp_path / "p.h5", {"v": {"a": (pose, ids), "b": (pose + 1, ids)}}, experts=["a", "b"])
    result = CliRunner().invoke(main, ["refine", str(path), "-o", str(tmp_path / "r.h5")])
    assert result.exit_code == 0, result.output
    assert "4 person-frames, 0.0% with C >= 0.18, no C" in result.output


@pytest.mark.parametrize("trust", [False, True])
def test_refine_passes_trust_checkpoint_to_the_student(proposals, tmp_path, monkeypatch, trust):
    import posekit.train.student

    calls = []

    def train_student(refined, work_dir, **options):  # records what the command asked for; trains nothing
        calls.append(options)
        return {
            "epochs": 1,
            "device": "cpu",
            "expert": work_dir / "expert.json",
            "pseudo_labels": {"annotations": 6, "images": 6, "anchors": 1},
        }

    monkeypatch.setattr(posekit.train.student, "train_student", train_student)
    checkpoint = tmp_path / "third_party.pth"
    checkpoint.write_bytes(b"weights")
    result = CliRunner().invoke(
        main,
        [
            "refine",
            str(proposals),
            "-o",
            str(tmp_path / "r.h5"),
            "--train-student",
            "--student-checkpoint",
            str(checkpoint),
        ]
        + ["--trust-checkpoint"] * trust,
    )
    assert result.exit_code == 0, result.output
    [options] = calls
    assert options["checkpoint"] == checkpoint and options["trust_checkpoint"] is trust
