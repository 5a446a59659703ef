"""posekit synth untrimmed: a hand-built two-clip sequence, frames and labels traced back to their source clips,
splits kept apart, determinism, 3D stores, the command line."""

import json

import numpy as np
import pytest
from click.testing import CliRunner

from posekit.cli import main
from posekit.errors import PosekitError
from posekit.layouts import Layout
from posekit.sample import LAYOUT as COCO
from posekit.sample import synthetic_clips
from posekit.store import Clip, SkeletonStore, StoreWriter
from posekit.store.validate import validate
from posekit.synth.untrimmed import synth_untrimmed
from tests.synth.tiny import write_tiny_store

CHAIN = Layout(name="chain-3", joints=("a", "b", "c"), parents={"b": "a", "c": "b"})


def records(clip) -> list[dict]:
    return json.loads(clip.source)["clips"]


@pytest.fixture(scope="module")
def clips_store(tmp_path_factory):
    """23 short synthetic clips (2 persons, 2D, pixels) of 3 classes, train and test, and two unlabelled ones."""
    path = tmp_path_factory.mktemp("untrimmed") / "clips.h5"
    with StoreWriter(path, COCO, coord_dims=2, classes=["a", "b", "c"]) as writer:
        for clip in synthetic_clips(23, min_frames=5, max_frames=12, num_classes=3):
            writer.add(clip)
        for clip in synthetic_clips(2, seed=1, min_frames=5, max_frames=6, start=100):
            clip.label = -1
            writer.add(clip)
    return path


def test_two_clips_by_hand(tmp_path):
    """Clip a (3 frames, class 0) and b (2 frames, class 1), chained with a 3-frame transition."""
    a = np.arange(3, dtype=np.float32)[:, None, None, None] * np.ones((3, 1, 3, 2), np.float32)  # frame t: all t
    a[2, 0, 2] = np.nan  # joint c missing in a's last frame
    b = 10 + np.arange(2, dtype=np.float32)[:, None, None, None] * np.ones((2, 1, 3, 2), np.float32)
    with StoreWriter(tmp_path / "two.h5", CHAIN, coord_dims=2, classes=["first", "second"]) as writer:
        writer.add(Clip(id="a", keypoints=a, label=0, splits=("train",)))
        writer.add(Clip(id="b", keypoints=b, label=1, splits=("train",)))
    summary = synth_untrimmed(
        tmp_path / "two.h5", tmp_path / "seq.h5", clips_per_sequence=2, transition=3, progress=False
    )
    assert summary["sequences"] == {"train": 1} and summary["frames"] == 3 + 3 + 2
    assert summary["background_frames"] == 3
    sequence = SkeletonStore(tmp_path / "seq.h5")[0]
    assert sequence.id == "train_00000" and sequence.splits == ("train",) and sequence.label == -1
    order = [r["id"] for r in records(sequence)]
    if order == ["a", "b"]:  # 0 1 2, then 2 -> 10 in quarters, then 10 11
        joint_ab = [0, 1, 2, 4, 6, 8, 10, 11]
        joint_c = [0, 1, np.nan, np.nan, np.nan, np.nan, 10, 11]  # a transition from a missing joint is missing
        labels = [[1, 0]] * 3 + [[0, 0]] * 3 + [[0, 1]] * 2
        assert records(sequence) == [
            {"id": "a", "frames": [0, 3], "at": 0, "label": 0},
            {"id": "b", "frames": [0, 2], "at": 6, "label": 1},
        ]
    else:  # 10 11, then 11 -> 0 in quarters, then 0 1 2
        joint_ab = [10, 11, 8.25, 5.5, 2.75, 0, 1, 2]
        joint_c = [10, 11, 8.25, 5.5, 2.75, 0, 1, np.nan]
        labels = [[0, 1]] * 2 + [[0, 0]] * 3 + [[1, 0]] * 3
        assert records(sequence) == [
            {"id": "b", "frames": [0, 2], "at": 0, "label": 1},
            {"id": "a", "frames": [0, 3], "at": 5, "label": 0},
        ]
    for joint, expected in ((0, joint_ab), (1, joint_ab), (2, joint_c)):
        np.testing.assert_allclose(sequence.keypoints[:, 0, joint, 0], expected)
    np.testing.assert_array_equal(sequence.labels, np.array(labels, bool))


def test_every_frame_traces_back_to_its_clip_and_transitions_are_background(clips_store, tmp_path):
    synth_untrimmed(clips_store, tmp_path / "u.h5", clips_per_sequence=4, transition=2, progress=False)
    source, chained = SkeletonStore(clips_store), SkeletonStore(tmp_path / "u.h5")
    assert chained.max_persons == source.max_persons == 2 and chained.coordinates == "pixel"
    for sequence in chained:
        covered = np.zeros(sequence.num_frames, bool)
        for record in records(sequence):
            clip = source[source.index_of(record["id"])]
            first, stop = record["frames"]
            frames = slice(record["at"], record["at"] + stop - first)
            np.testing.assert_array_equal(sequence.keypoints[frames], clip.keypoints[first:stop])
            np.testing.assert_array_equal(sequence.scores[frames], clip.scores[first:stop])
            assert record["label"] == clip.label >= 0
            assert sequence.labels[frames, clip.label].all() and sequence.labels[frames].sum() == stop - first
            covered[frames] = True
        assert not sequence.labels[~covered].any() and (~covered).sum() == 2 * (len(records(sequence)) - 1)
        assert sequence.image_size == tuple(source[0].image_size) and sequence.fps == 30.0


def test_splits_never_mix_and_unlabelled_clips_are_left_out(clips_store, tmp_path):
    summary = synth_untrimmed(clips_store, tmp_path / "u.h5", clips_per_sequence=3, transition=1, progress=False)
    source, chained = SkeletonStore(clips_store), SkeletonStore(tmp_path / "u.h5")
    assert summary["skipped"] == 2 and summary["clips"] == 23
    used: dict[str, list] = {"train": [], "test": []}
    for sequence in chained:
        (split,) = sequence.splits
        ids = [r["id"] for r in records(sequence)]
        assert all(split in source[source.index_of(i)].splits for i in ids)
        used[split] += ids
    for split in used:  # every labelled clip of the split, once
        members = source.split(split)
        assert sorted(used[split]) == sorted(source.ids[members[source.labels[members] >= 0]])
    assert summary["sequences"] == {"test": 2, "train": 6}  # 5 test and 18 train clips, 3 a sequence


def test_a_seed_gives_the_same_sequences_and_one_split_alone_the_same_as_among_all(clips_store, tmp_path):
    def sources(path, **options):
        synth_untrimmed(clips_store, path, clips_per_sequence=3, progress=False, **options)
        return {clip.id: clip.source for clip in SkeletonStore(path)}

    first, again = sources(tmp_path / "1.h5", seed=4), sources(tmp_path / "2.h5", seed=4)
    assert first == again
    assert sources(tmp_path / "3.h5", seed=5) != first
    test_only = sources(tmp_path / "4.h5", seed=4, splits=("test",))
    assert test_only == {k: v for k, v in first.items() if k.startswith("test_")}


def test_a_3d_store_stays_3d_and_validates_and_the_command_says_what_it_wrote(tmp_path):
    write_tiny_store(tmp_path / "tiny.h5", motions=5, frames=10)
    result = CliRunner().invoke(
        main,
        [
            "synth",
            "untrimmed",
            str(tmp_path / "tiny.h5"),
            "-o",
            str(tmp_path / "u.h5"),
            "--clips-per-sequence",
            "2",
            "--transition",
            "4",
            "--split",
            "train",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "chained 4 clips" in result.output and "2 train" in result.output and str(tmp_path / "u.h5") in result.output
    assert validate(tmp_path / "u.h5") == []
    chained = SkeletonStore(tmp_path / "u.h5")
    assert chained.coord_dims == 3 and chained.coordinates == "metric" and set(chained.splits) == {"train"}
    assert chained.lengths.tolist() == [24, 24]
    again = CliRunner().invoke(main, ["synth", "untrimmed", str(tmp_path / "tiny.h5"), "-o", str(tmp_path / "u.h5")])
    assert again.exit_code != 0 and "--force" in again.output


def test_a_missing_split_or_nothing_labelled_is_one_line(clips_store, tmp_path):
    with pytest.raises(PosekitError, match="no split 'val'"):
        synth_untrimmed(clips_store, tmp_path / "u.h5", splits=("val",), progress=False)
    with StoreWriter(tmp_path / "unlabelled.h5", CHAIN, coord_dims=2, classes=["x"]) as writer:
        writer.add(Clip(id="a", keypoints=np.ones((3, 1, 3, 2), np.float32), splits=("train",)))
    with pytest.raises(PosekitError, match="no labelled clip to chain in train"):
        synth_untrimmed(tmp_path / "unlabelled.h5", tmp_path / "u.h5", progress=False)
    assert not (tmp_path / "u.h5").exists()


def test_a_store_without_splits_makes_sequences_without_splits(tmp_path):
    with StoreWriter(tmp_path / "nosplit.h5", CHAIN, coord_dims=2, classes=["x"]) as writer:
        for name in "abc":
            writer.add(Clip(id=name, keypoints=np.ones((3, 1, 3, 2), np.float32), label=0))
    summary = synth_untrimmed(tmp_path / "nosplit.h5", tmp_path / "u.h5", clips_per_sequence=2, progress=False)
    chained = SkeletonStore(tmp_path / "u.h5")
    assert summary["sequences"] == {"all": 2} and chained.ids.tolist() == ["all_00000", "all_00001"]
    assert chained.splits == {} and chained.lengths.tolist() == [3 + 5 + 3, 3]
