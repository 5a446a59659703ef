import os

import h5py
import numpy as np
import pytest

from posekit.store import Clip, SkeletonStore, StoreError, StoreWriter
from posekit.store.merge import merge
from posekit.store.validate import validate


def make_clip(i, t=6, m=2, v=13, c=2, rng=None, **kw):
    rng = rng or np.random.default_rng(i)
    kp = rng.normal(size=(t, m, v, c)).astype(np.float32)
    return Clip(id=f"clip{i}", keypoints=kp, scores=rng.uniform(size=(t, m, v)).astype(np.float32), **kw)


def write(path, clips, classes=("run", "jump"), **kw):
    with StoreWriter(path, "penn-13", coord_dims=2, classes=list(classes), **kw) as w:
        for clip in clips:
            w.add(clip)
    return path


@pytest.mark.parametrize("compression", ["lzf", "gzip", None])
def test_round_trip_keeps_every_field(tmp_path, compression):
    rng = np.random.default_rng(0)
    clips = []
    for i in range(7):
        t, m = 3 + i, 1 + i % 3
        clips.append(
            Clip(
                id=f"c{i}",
                keypoints=rng.normal(size=(t, m, 13, 2)),
                scores=rng.uniform(size=(t, m, 13)),
                track_id=np.tile(np.arange(m) + 10 * i, (t, 1)),
                frame_index=np.arange(t) * 2 + i,
                box=rng.normal(size=(t, m, 4)) if i % 2 else None,
                keypoints_3d=rng.normal(size=(t, m, 13, 3)),
                labels=rng.uniform(size=(t, 2)) > 0.5,
                label=i % 2,
                fps=25.0,
                image_size=(640, 480),
                source=f"v{i}.mp4",
                text=f"person {i} runs",
                splits=("train",) if i < 4 else ("test",),
                features={"video": rng.normal(size=8)},
            )
        )
    # A small flush size makes the clips span several flushes, with fields appearing and disappearing.
    write(tmp_path / "s.h5", clips, flush_frames=7, compression=compression, chunk_frames=4)
    with h5py.File(tmp_path / "s.h5") as f:
        assert f["frames/keypoints"].compression == compression
    store = SkeletonStore(tmp_path / "s.h5")
    assert len(store) == 7 and store.num_frames == sum(c.num_frames for c in clips)
    assert store.max_persons == 3
    for original in clips:
        got = store[store.index_of(original.id)]
        m = original.num_persons
        np.testing.assert_allclose(got.keypoints[:, :m], original.keypoints, rtol=1e-6)
        assert np.isnan(got.keypoints[:, m:]).all()  # padding persons are missing, not zeros
        np.testing.assert_array_equal(got.track_id[:, :m], original.track_id)
        assert (got.track_id[:, m:] == -1).all()
        np.testing.assert_array_equal(got.frame_index, original.frame_index)
        np.testing.assert_allclose(got.keypoints_3d[:, :m], original.keypoints_3d, rtol=1e-6)
        np.testing.assert_array_equal(got.labels, original.labels)
        if original.box is None:
            assert np.isnan(got.box).all()
        else:
            np.testing.assert_allclose(got.box[:, :m], original.box, rtol=1e-6)
        np.testing.assert_allclose(got.features["video"], original.features["video"], rtol=1e-6)
        assert (got.label, got.fps, got.image_size, got.source, got.text, got.splits) == (
            original.label,
            25.0,
            (640, 480),
            original.source,
            original.text,
            original.splits,
        )
    assert validate(tmp_path / "s.h5") == []


def test_one_nan_coordinate_makes_the_joint_missing(tmp_path):
    clip = make_clip(0)
    clip.keypoints[0, 0, 3, 1] = np.nan
    write(tmp_path / "s.h5", [clip])
    assert np.isfinite(clip.keypoints[0, 0, 3, 0])  # the caller's array is left as it was
    got = SkeletonStore(tmp_path / "s.h5")[0]
    assert np.isnan(got.keypoints[0, 0, 3]).all()
    assert np.isfinite(got.keypoints[0, 0, 4]).all()


def test_append_adds_clips_classes_and_splits(tmp_path):
    path = write(tmp_path / "s.h5", [make_clip(0, label=1, splits=("train",))])
    with StoreWriter(path, mode="a") as w:
        w.add(make_clip(1, m=4, label=w.class_index("swim"), splits=("train", "test")))
    store = SkeletonStore(path)
    assert store.classes == ["run", "jump", "swim"]
    assert list(store.labels) == [1, 2]
    assert {k: list(v) for k, v in store.splits.items()} == {"train": [0, 1], "test": [1]}
    assert store.max_persons == 4 and store[0].keypoints.shape == (6, 4, 13, 2)
    assert validate(path) == []


def test_interrupted_append_leaves_the_store_untouched(tmp_path):
    path = write(tmp_path / "s.h5", [make_clip(0)])
    before = path.read_bytes()
    with pytest.raises(RuntimeError):
        with StoreWriter(path, mode="a") as w:
            w.add(make_clip(1))
            raise RuntimeError("killed mid-append")
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["s.h5"]  # no temporary file left behind


def test_written_files_get_the_usual_mode_and_appends_keep_theirs(tmp_path):
    umask = os.umask(0o022)
    try:
        path = write(tmp_path / "s.h5", [make_clip(0)])
        assert path.stat().st_mode & 0o777 == 0o644  # not the 0600 of a temporary file
        path.chmod(0o640)
        with StoreWriter(path, mode="a") as w:
            w.add(make_clip(1))
        assert path.stat().st_mode & 0o777 == 0o640
    finally:
        os.umask(umask)


def test_failed_write_leaves_no_file(tmp_path):
    with pytest.raises(StoreError, match="duplicate clip id 'clip0'"):
        write(tmp_path / "s.h5", [make_clip(0), make_clip(0)])
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "bad, message",
    [
        (lambda c: setattr(c, "keypoints", c.keypoints[:0]), "zero frames"),
        (lambda c: setattr(c, "keypoints", np.full_like(c.keypoints, np.nan)), "no person has a single valid joint"),
        (lambda c: setattr(c, "keypoints", c.keypoints[:, :, :5]), "5 joints but layout 'penn-13' has 13"),
        (
            lambda c: setattr(c, "keypoints", np.concatenate([c.keypoints, c.keypoints[..., :1]], -1)),
            "3D keypoints in a 2D",
        ),
        (lambda c: c.keypoints.__setitem__((0, 0, 0, 0), np.inf), "infinite coordinates"),
        (lambda c: setattr(c, "label", 5), "label 5 outside the 2 classes"),
        (lambda c: setattr(c, "scores", c.scores[:, :1]), "scores must have shape"),
    ],
)
def test_bad_clips_are_refused_with_a_clear_message(tmp_path, bad, message):
    clip = make_clip(0)
    bad(clip)
    with pytest.raises(StoreError, match=message.replace("(", r"\(")):
        write(tmp_path / "s.h5", [clip])
    assert list(tmp_path.iterdir()) == []


def test_empty_clips_are_kept_when_allowed(tmp_path):
    """Extraction stores a video with nobody in it as a clip with no valid joint."""
    clip = make_clip(0)
    clip.keypoints[:] = np.nan
    write(tmp_path / "s.h5", [clip, make_clip(1)], allow_empty=True)
    assert len(SkeletonStore(tmp_path / "s.h5")) == 2


def test_unwritable_output_is_reported(tmp_path):
    with pytest.raises(StoreError, match="does not exist"):
        write(tmp_path / "missing" / "s.h5", [make_clip(0)])
    if os.geteuid() != 0:  # root can write anywhere
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        with pytest.raises(StoreError, match="cannot write here"):
            write(locked / "s.h5", [make_clip(0)])


def test_merge_unites_classes_by_name_and_reindexes_labels(tmp_path):
    a = write(tmp_path / "a.h5", [make_clip(0, label=1, splits=("train",))], classes=("run", "jump"))
    clip = make_clip(1, label=0, splits=("test",))
    clip.labels = np.array([[1, 0], [0, 1]] * 3, bool)
    b = write(tmp_path / "b.h5", [clip], classes=("jump", "swim"))
    merge([a, b], tmp_path / "c.h5", progress=False)
    c = SkeletonStore(tmp_path / "c.h5")
    assert c.classes == ["run", "jump", "swim"]
    assert list(c.labels) == [1, 1]  # B's "jump" (0) is C's 1
    np.testing.assert_array_equal(c[1].labels[:2], [[0, 1, 0], [0, 0, 1]])
    assert {k: list(v) for k, v in c.splits.items()} == {"train": [0], "test": [1]}
    assert validate(tmp_path / "c.h5") == []


def test_merge_refuses_clashing_ids_and_layouts(tmp_path):
    a = write(tmp_path / "a.h5", [make_clip(0)])
    b = write(tmp_path / "b.h5", [make_clip(0)])
    with pytest.raises(StoreError, match="clip ids also in"):
        merge([a, b], tmp_path / "c.h5", progress=False)
    with StoreWriter(tmp_path / "d.h5", "coco-17", coord_dims=2) as w:
        w.add(make_clip(5, v=17))
    with pytest.raises(StoreError, match="layout 'coco-17' differs"):
        merge([a, tmp_path / "d.h5"], tmp_path / "c.h5", progress=False)
    assert not (tmp_path / "c.h5").exists()


def test_validate_finds_broken_offsets_and_foreign_files(tmp_path):
    path = write(tmp_path / "s.h5", [make_clip(0), make_clip(1)])
    with h5py.File(path, "r+") as f:
        f["clips/offset"][1] = 2
    assert any("do not tile" in p for p in validate(path))
    with h5py.File(tmp_path / "other.h5", "w") as f:
        f["x"] = 1
    assert "not a posekit store" in validate(tmp_path / "other.h5")[0]
    (tmp_path / "text.h5").write_text("hello")
    assert "not a readable HDF5 file" in validate(tmp_path / "text.h5")[0]


def test_validate_finds_schema_violations(tmp_path):
    path = write(tmp_path / "s.h5", [make_clip(0)])
    with h5py.File(path, "r+") as f:
        del f["frames/track_id"]
        f.attrs["coordinates"] = "furlongs"
    problems = validate(path)
    assert any("track_id" in p for p in problems) and any("furlongs" in p for p in problems)


def test_reader_is_safe_after_fork(tmp_path):
    """The handle is reopened in a child process instead of sharing the parent's."""
    path = write(tmp_path / "s.h5", [make_clip(i) for i in range(3)])
    store = SkeletonStore(path)
    store[0]  # the parent opens the file and keeps its dataset handles
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        ok = np.allclose(store[2].keypoints, make_clip(2).keypoints)
        os.write(w, b"1" if ok else b"0")
        os._exit(0)
    os.waitpid(pid, 0)
    assert os.read(r, 1) == b"1"


def test_a_refused_clip_does_not_reserve_its_id(tmp_path):
    with StoreWriter(tmp_path / "s.h5", "penn-13", coord_dims=2, classes=["a"]) as w:
        bad = make_clip(0)
        bad.scores = bad.scores[:, :1]
        with pytest.raises(StoreError, match="scores must have shape"):
            w.add(bad)
        w.add(make_clip(0))  # the same id, now valid
    assert list(SkeletonStore(tmp_path / "s.h5").ids) == ["clip0"]


def test_track_names_round_trip_and_are_written_only_once_a_clip_has_them(tmp_path):
    unnamed = write(tmp_path / "unnamed.h5", [make_clip(0)])
    with h5py.File(unnamed) as f:
        assert "track_names" not in f["clips"]  # as posekit wrote stores before track names
    assert SkeletonStore(unnamed)[0].track_names == ()
    # The names appear in the second flush: the clips before them read as unnamed.
    clips = [make_clip(0), make_clip(1, track_names=("female", "male")), make_clip(2)]
    named = write(tmp_path / "named.h5", clips, flush_frames=6)
    store = SkeletonStore(named)
    assert [clip.track_names for clip in store] == [(), ("female", "male"), ()]
    assert validate(named) == []
    with StoreWriter(unnamed, mode="a") as w:  # appended to a store without the column
        w.add(make_clip(3, track_names=("rat 1",)))
    assert [clip.track_names for clip in SkeletonStore(unnamed)] == [(), ("rat 1",)]
    merge(
        [unnamed, write(tmp_path / "b.h5", [make_clip(9, track_names=("mouse",))])],
        tmp_path / "merged.h5",
        progress=False,
    )
    assert [clip.track_names for clip in SkeletonStore(tmp_path / "merged.h5")] == [(), ("rat 1",), ("mouse",)]


def test_track_names_that_do_not_decode_are_named_by_validate_and_the_reader(tmp_path):
    path = write(tmp_path / "s.h5", [make_clip(0, track_names=("a",)), make_clip(1, track_names=("b",))])
    with h5py.File(path, "r+") as f:
        f["clips/track_names"][1] = "female, male"
    [problem] = validate(path)
    assert problem == (f"{path}: clips/track_names: 1 clips whose track names are not a JSON list of strings: clip1")
    store = SkeletonStore(path)
    assert store[0].track_names == ("a",)
    with pytest.raises(StoreError, match=r"clips/track_names of clip 'clip1' is not a JSON list of strings"):
        store[1]
