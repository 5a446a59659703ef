"""posekit refine's library side: tracks matched by id, SST-A per track, the refined store and its report."""

import json
import subprocess
import sys

import numpy as np
import pytest

from pose_refine import sst_aggregate
from posekit.errors import InputError
from posekit.layouts import get_layout
from posekit.refine.store import refine_store
from posekit.store import Clip, SkeletonStore, StoreWriter

UNIK = get_layout("unik-17")
HEAD, NECK = UNIK.index(UNIK.head), UNIK.index(UNIK.neck)
V = UNIK.num_joints
EXPERTS = ["a", "b", "c"]


def write_proposals(path, videos, experts=EXPERTS, image_size=(640, 480), layout=UNIK):
    """videos: {video: {expert: (keypoints (T, M, V, 2), track_id (T, M))}} -> a proposals store."""
    with StoreWriter(
        path, layout, coord_dims=2, allow_empty=True, provenance={"step": "extract", "experts": list(experts)}
    ) as writer:
        for video, clips in videos.items():
            for expert, (keypoints, track_id) in clips.items():
                writer.add(
                    Clip(
                        id=f"{video}@{expert}",
                        keypoints=keypoints,
                        track_id=track_id,
                        frame_index=np.arange(len(keypoints)) * 2 + 5,
                        fps=25.0,
                        image_size=image_size,
                        source=f"videos/{video}.mp4",
                    )
                )
    return path


def track_poses(rng, n_frames):
    """A person walking: (T, V, 2) with the head 10 px above the neck."""
    base = rng.uniform(100, 200, (V, 2))
    base[NECK] = base[HEAD] + (0, 10)
    return base + np.arange(n_frames)[:, None, None] * (1.5, 0.5)


@pytest.fixture
def proposals(tmp_path):
    """v1: tracks 3 and 7 (in other slots for expert b; 7 only from frame 2); v2: track 9 lacks expert b;
    empty: nobody. Returns the path and, per (video, track), the (E, T, V, 2) estimates SST-A should see."""
    rng = np.random.default_rng(0)
    truth = {
        ("v1", 3): track_poses(rng, 6),
        ("v1", 7): track_poses(rng, 6),
        ("v2", 3): track_poses(rng, 5),
        ("v2", 9): track_poses(rng, 5),
    }
    estimates = {key: truth[key] + rng.normal(0, 3, (3,) + truth[key].shape) for key in truth}
    estimates[("v1", 7)][:, :2] = np.nan  # track 7 appears at frame 2
    estimates[("v1", 3)][2, 4, 5] = np.nan  # expert c misses a joint
    estimates[("v2", 9)][1] = np.nan  # expert b never sees track 9
    videos = {"v1": {}, "v2": {}, "empty": {}}
    for e, expert in enumerate(EXPERTS):
        order = [7, 3] if expert == "b" else [3, 7]  # matched by id, not by slot
        kp = np.stack([estimates[("v1", k)][e] for k in order], axis=1)
        ids = np.tile(order, (6, 1))
        ids[:2, order.index(7)] = -1
        videos["v1"][expert] = (kp, ids)
        tracks = [3] if expert == "b" else [9, 3]
        videos["v2"][expert] = (np.stack([estimates[("v2", k)][e] for k in tracks], axis=1), np.tile(tracks, (5, 1)))
        videos["empty"][expert] = (np.full((4, 1, V, 2), np.nan), np.full((4, 1), -1))
    expected = {key: value[[0, 2]] if key == ("v2", 9) else value for key, value in estimates.items()}
    return write_proposals(tmp_path / "proposals.h5", videos), expected


def person(clip, track):
    slot = np.flatnonzero((clip.track_id == track).any(axis=0))
    assert len(slot) == 1
    return slot[0]


def test_refined_tracks_are_sst_a_of_the_experts_matched_by_track_id(proposals, tmp_path):
    path, expected = proposals
    summary = refine_store(path, tmp_path / "refined.h5", report_dir=tmp_path / "report", progress=False)
    assert summary["videos"] == 3 and summary["experts"] == EXPERTS
    report = json.loads((tmp_path / "report" / "report.json").read_text())
    for key in ("tracks", "person_frames", "kept", "discarded", "unscored"):  # overall = sum over the videos
        assert report["overall"][key] == sum(video[key] for video in report["videos"].values())
    assert report["videos"]["v1"]["person_frames"] == 6 + 4 and report["videos"]["empty"]["person_frames"] == 0
    assert sum(e["selected_fraction"] for e in report["overall"]["experts"].values()) == pytest.approx(1)
    assert report["videos"]["v2"]["experts"]["b"]["coverage"] == pytest.approx(5 / 10)  # b lacks track 9
    refined = SkeletonStore(tmp_path / "refined.h5")
    assert list(refined.ids) == ["v1", "v2", "empty"]
    for (video, track), estimates in expected.items():
        clip = refined[refined.index_of(video)]
        fused, confidence, _ = sst_aggregate(estimates.astype(np.float32), head=HEAD, neck=NECK)  # as stored
        slot = person(clip, track)
        np.testing.assert_array_equal(clip.keypoints[:, slot], fused)
        present = ~np.isnan(fused).all(axis=(1, 2))
        np.testing.assert_array_equal(clip.track_id[:, slot], np.where(present, track, -1))
        np.testing.assert_allclose(
            clip.scores[present, slot], np.broadcast_to(confidence[present, None], (present.sum(), V)), rtol=1e-6
        )  # C broadcast over the joints
        box = clip.box[present, slot]
        np.testing.assert_allclose(box[:, :2], fused[present].min(axis=1), rtol=1e-6)
        np.testing.assert_allclose(box[:, 2:], fused[present].max(axis=1), rtol=1e-6)
    v1 = refined[0]
    np.testing.assert_array_equal(v1.frame_index, np.arange(6) * 2 + 5)
    assert (v1.fps, v1.image_size, v1.source) == (25.0, (640, 480), "videos/v1.mp4")
    assert person(v1, 3) == 0  # the main track (more frames, same agreement) comes first
    empty = refined[2]
    assert empty.num_frames == 4 and (empty.track_id == -1).all() and np.isnan(empty.keypoints).all()
    step = refined.provenance[-1]
    assert [s["step"] for s in refined.provenance] == ["extract", "refine"]
    assert (step["method"], step["gamma"], step["experts"]) == ("SST-A", 0.18, EXPERTS)
    assert step["kept_fraction"] == summary["report"]["kept_fraction"]


def test_max_persons_keeps_the_main_tracks(proposals, tmp_path):
    path, _ = proposals
    refine_store(path, tmp_path / "refined.h5", max_persons=1, progress=False)
    refined = SkeletonStore(tmp_path / "refined.h5")
    assert refined.max_persons == 1
    assert set(np.unique(refined[0].track_id)) == {3}  # track 7 is shorter


@pytest.fixture
def agreeing(tmp_path):
    """One track; experts a and b agree exactly, c is 5 px off (3, 4) on every joint; head length 10 px."""
    pose = track_poses(np.random.default_rng(1), 4)[:, None]
    ids = np.zeros((4, 1), int)
    return write_proposals(
        tmp_path / "agree.h5", {"v": {"a": (pose, ids), "b": (pose.copy(), ids), "c": (pose + (3, 4), ids)}}
    )


def test_report_numbers_by_hand(agreeing, tmp_path):
    confidence = np.exp(-(2 * 0 + 5 / 10) / 3)  # eq. 3.4: mean over 3 experts of distance / head length
    summary = refine_store(agreeing, tmp_path / "r.h5", gamma=0.18, report_dir=tmp_path / "report", progress=False)
    report = json.loads((tmp_path / "report" / "report.json").read_text())
    assert report["overall"] == summary["report"]
    for part in (report["overall"], report["videos"]["v"]):
        assert (part["person_frames"], part["kept"], part["discarded"], part["unscored"]) == (4, 4, 0, 0)
        assert part["kept_fraction"] == 1.0
        assert part["confidence_quantiles"]["0.5"] == pytest.approx(confidence, abs=1e-4)
        experts = part["experts"]
        assert [experts[e]["selected_fraction"] for e in EXPERTS] == [1.0, 0.0, 0.0]  # ties go to the first
        assert [experts[e]["coverage"] for e in EXPERTS] == [1.0, 1.0, 1.0]
        assert [experts[e]["mean_distance_to_fused"] for e in EXPERTS] == pytest.approx([0, 0, 0.5])
    assert (tmp_path / "report" / "confidence.png").stat().st_size > 1000
    assert (tmp_path / "report" / "experts.png").stat().st_size > 1000
    refined = SkeletonStore(tmp_path / "r.h5")[0]
    np.testing.assert_allclose(refined.scores[:, 0], confidence, rtol=1e-6)


def test_low_confidence_frames_are_kept_unless_dropped(agreeing, tmp_path):
    refine_store(agreeing, tmp_path / "kept.h5", gamma=0.85, progress=False)  # C = 0.846 < gamma
    kept = SkeletonStore(tmp_path / "kept.h5")[0]
    assert (kept.track_id == 0).all() and not np.isnan(kept.keypoints).any()
    summary = refine_store(agreeing, tmp_path / "dropped.h5", gamma=0.85, drop_low=True, progress=False)
    assert (summary["report"]["kept"], summary["report"]["discarded"]) == (0, 4)
    dropped = SkeletonStore(tmp_path / "dropped.h5")[0]
    assert dropped.num_frames == 4 and (dropped.track_id == -1).all() and np.isnan(dropped.keypoints).all()


def test_one_expert_is_a_clear_error(tmp_path):
    pose = track_poses(np.random.default_rng(2), 3)[:, None]
    path = write_proposals(tmp_path / "one.h5", {"v": {"a": (pose, np.zeros((3, 1), int))}}, experts=["a"])
    with pytest.raises(InputError, match="at least 2 experts"):
        refine_store(path, tmp_path / "r.h5", progress=False)
    assert not (tmp_path / "r.h5").exists()


def test_a_store_of_plain_clips_is_refused(tmp_path):
    with StoreWriter(tmp_path / "plain.h5", UNIK, coord_dims=2) as writer:
        writer.add(Clip(id="clip0", keypoints=track_poses(np.random.default_rng(3), 3)[:, None]))
    with pytest.raises(InputError, match="VIDEO@EXPERT"):
        refine_store(tmp_path / "plain.h5", tmp_path / "r.h5", progress=False)


def test_frames_without_fused_head_are_unscored_and_videos_without_frames_pass(tmp_path):
    pose = track_poses(np.random.default_rng(4), 5)[:, None]
    pose[:, :, HEAD] = np.nan  # no expert gives the head: C is undefined (eq. 3.4 needs D_normal)
    ids = np.zeros((5, 1), int)
    no_frames = (np.zeros((0, 0, V, 2)), np.zeros((0, 0), int))
    path = write_proposals(
        tmp_path / "p.h5",
        {"headless": {"a": (pose, ids), "b": (pose + 1, ids)}, "no_frames": {"a": no_frames, "b": no_frames}},
        experts=["a", "b"],
    )
    summary = refine_store(path, tmp_path / "r.h5", progress=False)
    report = summary["report"]
    assert (report["person_frames"], report["kept"], report["discarded"], report["unscored"]) == (5, 0, 0, 5)
    assert report["confidence_quantiles"] is None and report["kept_fraction"] == 0.0
    refined = SkeletonStore(tmp_path / "r.h5")
    assert list(refined.lengths) == [5, 0]
    headless = refined[0]
    assert np.isnan(headless.scores).all() and (headless.track_id == 0).all()  # kept, confidence unknown
    refine_store(path, tmp_path / "dropped.h5", drop_low=True, progress=False)
    assert (SkeletonStore(tmp_path / "dropped.h5")[0].track_id == -1).all()  # unscored counts as not kept


def test_cli_reads_gamma_without_importing_numpy():
    # the --gamma default comes from pose_refine.GAMMA; SST-A (and numpy) load only when used
    code = (
        "import sys, posekit.cli, pose_refine; assert 'numpy' not in sys.modules; "
        "pose_refine.sst_aggregate; assert 'numpy' in sys.modules; print(pose_refine.GAMMA)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "0.18"
