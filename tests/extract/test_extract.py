"""`posekit extract` end to end on small synthetic videos, with precomputed-pose experts (no model to run): the
proposals store contract, ids of crossing persons across frames and experts, failing and empty videos, resume."""

import numpy as np
import pytest
from click.testing import CliRunner

from posekit.cli import main
from posekit.errors import InputError
from posekit.extract import runner
from posekit.extract.runner import extract, part_path, work_folder
from posekit.extract.video import Video, find_videos
from posekit.store import SkeletonStore
from posekit.store.validate import validate
from tests.test_locks import Holder

from .synthetic import blank_video, crossing, write_alphapose_json, write_mmpose_json, write_video


@pytest.fixture
def videos(tmp_path):
    """videos/cross.mp4 (two figures crossing), videos/sub/still.mp4 (one figure), and two experts' pose files."""
    folder, mm, ap = tmp_path / "videos", tmp_path / "mm", tmp_path / "ap"
    for path in (folder / "sub", mm, ap):
        path.mkdir(parents=True)
    poses = {"cross": crossing(frames=20), "still": np.repeat(crossing(frames=2)[:1, :1], 6, axis=0)}
    write_video(folder / "cross.mp4", poses["cross"])
    write_video(folder / "sub" / "still.mp4", poses["still"])
    rng = np.random.default_rng(0)
    for name, p in poses.items():
        orders = [rng.permutation(p.shape[1]) for _ in range(len(p))]
        write_mmpose_json(mm / f"{name}.json", p, order=lambda f, o=orders: o[f], noise=1.0)
        write_alphapose_json(ap / f"{name}.json", p, order=lambda f, o=orders: o[f][::-1])
    return folder, [f"mmpose-json:{mm}", f"alphapose:{ap}"], poses


def test_store_follows_the_proposals_contract(videos, tmp_path):
    folder, experts, poses = videos
    output = tmp_path / "proposals.h5"
    summary = extract([folder], output, experts=experts, progress=False)
    assert summary["clips"] == 4 and not summary["failed"]
    assert validate(output) == []
    assert not work_folder(output).exists()
    with SkeletonStore(output) as store:
        assert store.layout.name == "unik-17" and store.coordinates == "pixel" and store.coord_dims == 2
        assert list(store.ids) == [
            "cross@mmpose-json",
            "cross@alphapose",
            "sub/still@mmpose-json",
            "sub/still@alphapose",
        ]
        step = store.provenance[-1]
        assert step["step"] == "extract" and step["experts"] == ["mmpose-json", "alphapose"]
        assert step["layout"] == "unik-17" and step["max_persons"] == 2
        cross = store[0]
        assert cross.frame_index.tolist() == list(range(20)) and cross.image_size == (320, 240)
        assert cross.fps == pytest.approx(25) and cross.source == str(folder / "cross.mp4")
        assert np.isnan(store[1].scores).sum() == 0 and np.allclose(store[1].scores, 0.8)  # AlphaPose's own
        still = store[2]
        assert still.keypoints.shape == (6, 2, 17, 2) and (still.track_id[:, 1] == -1).all()


def test_crossing_persons_keep_one_slot_in_every_expert(videos, tmp_path):
    folder, experts, poses = videos
    output = tmp_path / "p.h5"
    extract([folder / "cross.mp4"], output, experts=experts, progress=False)
    with SkeletonStore(output) as store:
        for clip in (store[0], store[1]):
            assert (clip.track_id == [0, 1]).all()
            # unik-17 left_wrist is coco-17 left_wrist (index 9): each slot follows one true person throughout
            wrist = clip.keypoints[:, :, 9]
            truth = poses["cross"][:, :, 9]
            same = np.abs(wrist - truth).max(axis=(0, 2))
            swapped = np.abs(wrist - truth[:, ::-1]).max(axis=(0, 2))
            assert (same < 5).all() or (swapped < 5).all()
        np.testing.assert_allclose(store[0].keypoints, store[1].keypoints, atol=5)  # slot k = the same person


def test_corrupt_video_is_reported_and_skipped(videos, tmp_path):
    folder, experts, _ = videos
    (folder / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 4)
    lines = []
    summary = extract([folder], tmp_path / "p.h5", experts=experts, progress=False, report=lines.append)
    assert summary["videos"] == 2 and list(summary["failed"]) == [str(folder / "broken.mp4")]
    assert len(lines) == 1 and lines[0].startswith(f"skipped {folder / 'broken.mp4'}: ")
    with SkeletonStore(tmp_path / "p.h5") as store:
        assert not any(i.startswith("broken@") for i in store.ids)


def test_a_model_failing_on_one_video_skips_only_that_video(videos, tmp_path, monkeypatch):
    folder, experts, _ = videos
    real = runner.extract_video

    def fail_on_cross(video, *args, **kwargs):
        if video.id == "cross":
            raise RuntimeError("tensor shape mismatch\nmore detail")
        return real(video, *args, **kwargs)

    monkeypatch.setattr(runner, "extract_video", fail_on_cross)
    lines = []
    summary = extract([folder], tmp_path / "p.h5", experts=experts, progress=False, report=lines.append)
    assert lines == [f"skipped {folder / 'cross.mp4'}: RuntimeError: tensor shape mismatch"]
    assert summary["videos"] == 1


def test_video_with_nobody_gives_empty_clips(tmp_path):
    blank_video(tmp_path / "empty.mp4", frames=5)
    (tmp_path / "mm").mkdir()
    write_mmpose_json(tmp_path / "mm" / "empty.json", np.zeros((5, 0, 17, 2)))
    output = tmp_path / "p.h5"
    extract([tmp_path / "empty.mp4"], output, experts=[f"mmpose-json:{tmp_path / 'mm'}"], progress=False)
    assert validate(output) == []
    with SkeletonStore(output) as store:
        [clip] = list(store)
        assert clip.num_frames == 5 and clip.num_persons == 0 and clip.frame_index.tolist() == list(range(5))


def test_interrupted_run_resumes_without_redoing_finished_videos(videos, tmp_path, monkeypatch):
    folder, experts, _ = videos
    output = tmp_path / "p.h5"
    done = []
    real = runner.extract_video

    def interrupt_on_second(video, *args, **kwargs):
        if done:
            raise KeyboardInterrupt
        done.append(video.id)
        return real(video, *args, **kwargs)

    monkeypatch.setattr(runner, "extract_video", interrupt_on_second)
    with pytest.raises(KeyboardInterrupt):
        extract([folder], output, experts=experts, progress=False)
    assert not output.exists() and done == ["cross"]
    assert part_path(work_folder(output), Video("cross", folder / "cross.mp4")).is_file()
    # Other options than the interrupted run's: refused, the work folder kept.
    with pytest.raises(InputError, match="interrupted run with other options"):
        extract([folder], output, experts=experts, max_persons=1, progress=False)

    again = []
    monkeypatch.setattr(runner, "extract_video", lambda video, *a, **k: again.append(video.id) or real(video, *a, **k))
    summary = extract([folder], output, experts=experts, progress=False)
    assert again == ["sub/still"] and summary["resumed"] == 1 and summary["videos"] == 2
    assert not work_folder(output).exists() and validate(output) == []


def test_a_second_extract_into_the_same_output_stops_before_any_work(videos, tmp_path, monkeypatch):
    folder, experts, _ = videos
    output = tmp_path / "p.h5"
    work = work_folder(output)
    work.mkdir()
    (work / "settings.json").write_text("the first run's")
    started = []
    monkeypatch.setattr(runner, "extract_video", lambda video, *a, **k: started.append(video.id))
    first = Holder(output, "extract")
    try:
        result = CliRunner().invoke(main, ["extract", str(folder), "-o", str(output), "--experts", ",".join(experts)])
    finally:
        first.release()
    assert result.exit_code == 2
    assert result.output == f"posekit: error: another posekit extract (pid {first.pid}) is writing {output}\n"
    assert not started and not output.exists()
    assert [p.name for p in work.iterdir()] == ["settings.json"] and (
        work / "settings.json"
    ).read_text() == "the first run's"


def test_the_next_run_clears_what_a_killed_run_was_writing(videos, tmp_path, monkeypatch):
    folder, experts, _ = videos
    output = tmp_path / "p.h5"
    real = runner.extract_video

    def interrupt_on(name):
        def extract_video(video, *args, **kwargs):
            if video.id == name:
                raise KeyboardInterrupt
            return real(video, *args, **kwargs)

        return extract_video

    monkeypatch.setattr(runner, "extract_video", interrupt_on("sub/still"))
    with pytest.raises(KeyboardInterrupt):
        extract([folder], output, experts=experts, progress=False)
    # What a kill (not an interrupt) leaves: the part being written, and the store being assembled.
    part = part_path(work_folder(output), Video("sub/still", folder / "sub" / "still.mp4"))
    killed_part = part.with_name(f".{part.name}.abcd1234.tmp")
    killed_part.write_bytes(b"half a part")
    (tmp_path / ".p.h5.abcd1234.tmp").write_bytes(b"half a store")
    with pytest.raises(KeyboardInterrupt):  # a resumed run that is interrupted again keeps only finished parts
        extract([folder], output, experts=experts, progress=False)
    assert sorted(p.name for p in work_folder(output).iterdir()) == sorted(
        [part_path(work_folder(output), Video("cross", folder / "cross.mp4")).name, "settings.json"]
    )

    monkeypatch.setattr(runner, "extract_video", real)
    result = CliRunner().invoke(main, ["extract", str(folder), "-o", str(output), "--experts", ",".join(experts)])
    assert result.exit_code == 0, result.output
    assert "1 from an earlier run" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ap", "mm", "p.h5", "videos"]


def test_worker_processes_give_the_same_store(videos, tmp_path):
    folder, experts, _ = videos
    extract([folder], tmp_path / "one.h5", experts=experts, progress=False)
    extract([folder], tmp_path / "two.h5", experts=experts, workers=2, progress=False)
    with SkeletonStore(tmp_path / "one.h5") as one, SkeletonStore(tmp_path / "two.h5") as two:
        assert list(one.ids) == list(two.ids)
        for a, b in zip(one, two):
            np.testing.assert_array_equal(a.keypoints, b.keypoints)
            np.testing.assert_array_equal(a.track_id, b.track_id)


def test_output_in_a_missing_folder_is_refused_before_any_work(videos, tmp_path):
    folder, experts, _ = videos
    with pytest.raises(InputError, match="does not exist"):
        extract([folder], tmp_path / "nowhere" / "p.h5", experts=experts, progress=False)
    assert not (tmp_path / "nowhere").exists()


def test_video_ids_are_relative_paths_and_must_be_unique(tmp_path):
    for sub in ("a", "b"):
        (tmp_path / sub).mkdir()
        (tmp_path / sub / "clip.MP4").write_bytes(b"")
    assert [v.id for v in find_videos([tmp_path])] == ["a/clip", "b/clip"]
    with pytest.raises(InputError, match="same video id 'clip'"):
        find_videos([tmp_path / "a", tmp_path / "b"])


def test_cli_writes_reports_and_refuses(videos, tmp_path):
    folder, experts, _ = videos
    output = tmp_path / "p.h5"
    result = CliRunner().invoke(
        main, ["extract", str(folder), "-o", str(output), "--experts", ",".join(experts), "--max-persons", "1"]
    )
    assert result.exit_code == 0, result.output
    assert (
        f"extracted 2 videos x 2 experts (mmpose-json, alphapose) = 4 clips, layout unik-17 -> {output}"
        in result.output
    )
    with SkeletonStore(output) as store:
        assert store.max_persons == 1
    again = CliRunner().invoke(main, ["extract", str(folder), "-o", str(output), "--experts", experts[0]])
    assert again.exit_code == 2 and "exists; use --force" in again.output
    bad = CliRunner().invoke(main, ["extract", str(folder), "-o", str(tmp_path / "q.h5"), "--experts", "hrnet"])
    assert bad.exit_code == 2 and bad.output.startswith("posekit: error: unknown expert 'hrnet'")


def test_refine_reads_the_store_aligned_by_track(videos, tmp_path):
    from posekit.refine.proposals import expert_order, group_videos, load_video

    folder, experts, poses = videos
    extract([folder / "cross.mp4"], tmp_path / "p.h5", experts=experts, progress=False)
    with SkeletonStore(tmp_path / "p.h5") as store:
        grouped = group_videos(store)
        assert list(grouped) == ["cross"] and expert_order(store, grouped) == ["mmpose-json", "alphapose"]
        video = load_video(store, "cross", grouped["cross"], ["mmpose-json", "alphapose"])
    assert video.track_ids.tolist() == [0, 1] and video.poses.shape == (2, 2, 20, 17, 2)
    np.testing.assert_allclose(video.poses[:, 0], video.poses[:, 1], atol=5)  # both experts, same person per track
