"""`posekit extract --shard K/N` on a folder of small synthetic videos (precomputed-pose expert, no model), and
`posekit store merge` of the shards' stores: the same store as one run over every video."""

from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from posekit.cli import main
from posekit.extract.runner import extract
from posekit.extract.video import Video, shard_videos
from posekit.store import SkeletonStore
from posekit.store.merge import merge
from posekit.store.validate import validate

from .synthetic import crossing, write_mmpose_json, write_video

VIDEOS = ["alpha", "bravo/charlie", "bravo/delta", "echo", "foxtrot/golf"]  # sorted by path, as extract lists them
CLIP_FIELDS = ("keypoints", "scores", "track_id", "frame_index")
# What a merge of shards may not share with one run: its file (path, size), its name (the first shard's) and its
# provenance (the first shard's extract step, then the merge step holding the other shards' steps).
DIFFERENT_BY_NATURE = {"path", "name", "file_bytes", "provenance"}


@pytest.fixture
def collection(tmp_path):
    """Five videos of 4 to 8 frames, with one or two persons, in nested folders; their poses as mmpose-json."""
    folder, poses = tmp_path / "videos", tmp_path / "poses"
    poses.mkdir()
    for k, name in enumerate(VIDEOS):
        path = folder / f"{name}.mp4"
        path.parent.mkdir(parents=True, exist_ok=True)
        persons = crossing(frames=4 + k)[:, : 1 + k % 2]
        write_video(path, persons, size=(320, 240))
        write_mmpose_json(poses / f"{Path(name).name}.json", persons, noise=1.0, seed=k)
    return folder, f"mmpose-json:{poses}"


def run(*args):
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return result.output


def test_shards_merged_are_the_store_of_one_run(collection, tmp_path):
    folder, expert = collection
    whole = tmp_path / "whole.h5"
    extract([folder], whole, experts=[expert], progress=False, report=lambda line: None)
    parts = [tmp_path / f"part_{k}.h5" for k in range(3)]
    for k, part in enumerate(parts):
        out = run("extract", folder, "-o", part, "--experts", expert, "--shard", f"{k}/3")
        assert f"(shard {k}/3 of 5 found)" in out

    merged = tmp_path / "merged.h5"
    out = run("store", "merge", *reversed(parts), "-o", merged)  # given last shard first: taken in shard order
    assert f"merged 2 + 2 + 1 clips (extraction shards in shard order) -> {merged}" in out
    assert validate(merged) == []
    with SkeletonStore(whole) as one, SkeletonStore(merged) as joined:
        assert list(joined.ids) == list(one.ids) == [f"{name}@mmpose-json" for name in VIDEOS]
        for expected, got in zip(one, joined):
            for field in CLIP_FIELDS:
                np.testing.assert_array_equal(getattr(got, field), getattr(expected, field), err_msg=field)
            assert (got.source, got.fps, got.image_size, got.label) == (
                expected.source,
                expected.fps,
                expected.image_size,
                expected.label,
            )
        differing = {key for key, value in one.info().items() if joined.info()[key] != value}
        assert differing <= DIFFERENT_BY_NATURE
        first_shard, merge_step = joined.provenance
        [one_run] = one.provenance
    same = ("step", "experts", "layout", "max_persons", "device", "failed")
    assert {key: first_shard[key] for key in same} == {key: one_run[key] for key in same}
    assert first_shard["shard"] == {"index": 0, "count": 3, "videos": 5}
    assert merge_step["step"] == "merge" and merge_step["inputs"] == [str(part) for part in parts]
    later = list(merge_step["input_provenance"].values())
    assert [steps[0]["shard"]["index"] for steps in later] == [1, 2]
    assert first_shard["videos"] + sum(steps[0]["videos"] for steps in later) == one_run["videos"]

    out = run("store", "merge", parts[2], parts[0], "-o", tmp_path / "partial.h5")
    assert "merged 2 + 1 clips (extraction shards in shard order; shards 1 of 3 missing)" in out


def test_a_shard_past_the_videos_is_a_store_without_clips(collection, tmp_path):
    folder, expert = collection
    empty = tmp_path / "part_5.h5"
    summary = extract([folder], empty, experts=[expert], shard=(5, 6), progress=False, report=lambda line: None)
    assert summary["videos"] == summary["clips"] == 0 and summary["found"] == 5
    assert validate(empty) == []
    last = tmp_path / "part_4.h5"
    extract([folder], last, experts=[expert], shard=(4, 6), progress=False, report=lambda line: None)
    summary = merge([empty, last], tmp_path / "merged.h5", progress=False)
    assert list(summary["inputs"].items()) == [(str(last), 1), (str(empty), 0)]
    assert summary["shards"] == {"count": 6, "missing": [0, 1, 2, 3]}


@pytest.mark.parametrize("count", [1, 3, 7, 9])
def test_shards_are_contiguous_near_equal_slices_that_cover_every_video_once(count):
    videos = [Video(str(k), Path(f"{k}.mp4")) for k in range(7)]
    slices = [shard_videos(videos, k, count) for k in range(count)]
    assert [video for piece in slices for video in piece] == videos
    sizes = [len(piece) for piece in slices]
    assert max(sizes) - min(sizes) <= 1 and sizes == sorted(sizes, reverse=True)


@pytest.mark.parametrize("shard", ["3/3", "1", "a/4", "-1/4", "1/0"])
def test_a_shard_that_is_not_k_of_n_is_refused_in_one_line(tmp_path, shard):
    result = CliRunner().invoke(main, ["extract", str(tmp_path), "-o", str(tmp_path / "p.h5"), "--shard", shard])
    assert result.exit_code != 0 and result.output.strip().splitlines() == [
        f"posekit: error: --shard {shard!r}: give K/N, the K-th of N shards counted from 0 (0/10 ... 9/10)"
    ]
    assert not (tmp_path / "p.h5").exists()
