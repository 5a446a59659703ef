"""The synthetic arena: deterministic by seed, RatPose metadata and splits, animals where the frames show them."""

import h5py
import numpy as np
import pytest

from posekit.rodent.ratpose.arena import INDIVIDUALS, SCENARIOS, frames_path, free_space, generate
from posekit.rodent.ratpose.labels import clip_meta
from posekit.store import SkeletonStore
from posekit.store.validate import validate


def small(path, seed=0):
    return generate(
        path,
        scenarios=SCENARIOS[1:3],
        individuals=INDIVIDUALS[:2],
        sessions=2,
        seconds=6,
        fps=10,
        size=40,
        seed=seed,
        test_scenarios=("labsim",),
        test_individuals=("B",),
        progress=False,
    )


@pytest.fixture(scope="module")
def arena(tmp_path_factory):
    path = tmp_path_factory.mktemp("arena") / "arena.h5"
    small(path)
    return path


def read(path):
    with SkeletonStore(path) as s, h5py.File(frames_path(path)) as f:
        return (
            {cid: s[i].keypoints for i, cid in enumerate(s.ids)},
            {cid: f["videos"][cid][()] for cid in f["videos"]},
        )


def test_same_seed_same_arena_other_seed_other(arena, tmp_path):
    small(tmp_path / "again.h5")
    small(tmp_path / "other.h5", seed=1)
    kp, frames = read(arena)
    kp2, frames2 = read(tmp_path / "again.h5")
    kp3, _ = read(tmp_path / "other.h5")
    assert kp.keys() == kp2.keys() == frames.keys()
    assert all(np.array_equal(kp[k], kp2[k]) and np.array_equal(frames[k], frames2[k]) for k in kp)
    assert not any(np.array_equal(kp[k], kp3[k]) for k in kp)


def test_metadata_splits_and_shapes(arena):
    assert validate(arena) == []
    with SkeletonStore(arena) as s:
        assert len(s) == 2 * 2 * 2 and s.layout.joints == ("body_centre",)
        metas = [clip_meta(t) for t in s.column("text")]
        assert {(m["scenario"], m["individual"], m["session"]) for m in metas} == {
            (sc, ind, se) for sc in ("maze", "labsim") for ind in ("A", "B") for se in ("s1", "s2")
        }
        assert {m["difficulty"] for m in metas} == {"medium"}
        for name, key, held in (("scenario", "scenario", "labsim"), ("individual", "individual", "B")):
            test = set(s.split(f"test_{name}").tolist())
            assert test == {i for i, m in enumerate(metas) if m[key] == held}
            assert set(s.split(f"train_{name}").tolist()) == set(range(len(s))) - test
        assert (s.column("image_size") == 40).all() and (s.column("fps") == 10).all()
        assert set(s.column("source")) == {frames_path(arena).name}


def test_animal_stays_in_free_space_and_shows_in_its_box(arena):
    with SkeletonStore(arena) as s, h5py.File(frames_path(arena)) as f:
        for i in range(len(s)):
            clip = s[i]
            scenario = next(sc for sc in SCENARIOS if sc.name == clip_meta(clip.text)["scenario"])
            centre = clip.keypoints[:, 0, 0]
            x, y = np.round(centre).astype(int).T
            assert free_space(scenario, 40)[y, x].all()
            box = clip.box[:, 0]
            assert ((box[:, 0] <= centre[:, 0]) & (centre[:, 0] <= box[:, 2])).all()
            video = f["videos"][clip.id][()]
            assert video.shape == (60, 40, 40) and video.dtype == np.uint8
            # the white rat is the brightest spot of the floor: near its centre in every frame
            bright = np.array([np.unravel_index(np.argmax(frame), frame.shape) for frame in video])
            assert np.abs(bright[:, ::-1] - centre).max() < 4
            assert np.ptp(centre, axis=0).max() > 3  # it moves


def test_arena_command(tmp_path):
    from click.testing import CliRunner

    from posekit.cli import main

    args = ["rodent", "arena", "-o", str(tmp_path / "a.h5"), "--sessions", "1", "--seconds", "1", "--size", "24"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert f"generated 30 sessions, 300 frames of 24x24 px -> {tmp_path / 'a.h5'}" in result.output
    with SkeletonStore(tmp_path / "a.h5") as s, h5py.File(tmp_path / "a_frames.h5") as f:
        assert len(s) == len(f["videos"]) == 5 * 6
    again = CliRunner().invoke(main, args)
    assert again.exit_code == 2 and "exists; use --force" in again.output


def test_arena_refuses_an_existing_frames_file_unless_forced(tmp_path):
    from click.testing import CliRunner

    from posekit.cli import main

    (tmp_path / "a_frames.h5").write_text("an earlier video file")
    args = ["rodent", "arena", "-o", str(tmp_path / "a.h5"), "--sessions", "1", "--seconds", "1", "--size", "24"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2
    assert (
        result.output == f"posekit: error: {tmp_path / 'a_frames.h5'}: exists; use --force to replace it or "
        "choose another -o\n"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_frames.h5"]
    assert (tmp_path / "a_frames.h5").read_text() == "an earlier video file"
    forced = CliRunner().invoke(main, args + ["--force"])
    assert forced.exit_code == 0, forced.output
    with h5py.File(tmp_path / "a_frames.h5") as f:
        assert len(f["videos"]) == 5 * 6
