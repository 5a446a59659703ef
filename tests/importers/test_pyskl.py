"""pyskl / mmaction2 pickles: import, export, store -> pickle -> store round trip, unsafe and broken pickles."""

import os
import pickle

import numpy as np
import pytest

from posekit.errors import InputError
from posekit.exporters.pyskl import export_pyskl
from posekit.importers.pyskl import read_pyskl
from posekit.store import Clip, SkeletonStore, StoreError, StoreWriter


def _store(path, clips, classes=("wave", "clap", "jump")):
    with StoreWriter(path, "coco-17", coord_dims=2, classes=list(classes)) as writer:
        for clip in clips:
            writer.add(clip)
    return path


def _random_clip(rng, clip_id, frames, persons, label, splits):
    keypoints = rng.uniform(1, 600, (frames, persons, 17, 2)).astype(np.float32)
    scores = rng.uniform(0.05, 1, (frames, persons, 17)).astype(np.float32)
    keypoints[rng.random((frames, persons, 17)) < 0.2] = np.nan
    scores[np.isnan(keypoints).any(axis=-1)] = 0
    return Clip(id=clip_id, keypoints=keypoints, scores=scores, label=label, image_size=(640, 480), splits=splits)


def _import(pickle_path, out, **options):
    dataset = read_pyskl([pickle_path], **options)
    with StoreWriter(out, dataset.layout, coord_dims=dataset.coord_dims, classes=dataset.classes) as writer:
        for clip in dataset.clips:
            writer.add(clip)
    return SkeletonStore(out)


def test_store_pickle_store_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    clips = [
        _random_clip(rng, "a", 5, 2, 0, ("train",)),
        _random_clip(rng, "b", 3, 1, 2, ("test",)),
        _random_clip(rng, "c", 7, 2, 1, ("train", "extra")),
    ]
    source = _store(tmp_path / "src.h5", clips)
    export_pyskl(source, tmp_path / "out.pkl")
    with SkeletonStore(source) as before, _import(tmp_path / "out.pkl", tmp_path / "back.h5") as after:
        assert list(after.ids) == list(before.ids) and after.classes == before.classes
        assert after.layout.joints == before.layout.joints and after.coordinates == before.coordinates
        assert {k: v.tolist() for k, v in after.splits.items()} == {k: v.tolist() for k, v in before.splits.items()}
        np.testing.assert_array_equal(after.labels, before.labels)
        np.testing.assert_array_equal(after.column("image_size"), before.column("image_size"))
        for i in range(len(before)):
            old, new = before.frames(i), after.frames(i)
            np.testing.assert_array_equal(new["keypoints"], old["keypoints"])
            np.testing.assert_array_equal(new["scores"], old["scores"])


def test_captions_features_and_class_descriptions_survive_the_round_trip(tmp_path):
    rng = np.random.default_rng(1)
    clips = [_random_clip(rng, c, 4, 1, label, ("train",)) for c, label in (("a", 0), ("b", 1))]
    clips[0].text, clips[0].features = "a person waves\nsomeone waving", {"text": [0.6, 0.8]}
    source = tmp_path / "src.h5"
    with StoreWriter(
        source, "coco-17", coord_dims=2, classes=["wave", "clap"], class_descriptions=["hand side to side", ""]
    ) as writer:
        for clip in clips:
            writer.add(clip)
        writer.set_class_feature("text", 0, [1, 0])
    export_pyskl(source, tmp_path / "out.pkl")
    with open(tmp_path / "out.pkl", "rb") as f:
        data = pickle.load(f)  # the file this test just wrote
    assert data["class_descriptions"] == ["hand side to side", ""]
    assert data["annotations"][0]["captions"] == ["a person waves", "someone waving"]
    assert "captions" not in data["annotations"][1] and "features" not in data["annotations"][1]
    np.testing.assert_allclose(data["class_features"]["text"][0], [1, 0])
    dataset = read_pyskl([tmp_path / "out.pkl"])
    assert dataset.class_descriptions == ["hand side to side", ""]
    back = list(dataset.clips)
    assert [c.captions for c in back] == [["a person waves", "someone waving"], []]
    np.testing.assert_allclose(back[0].features["text"], [0.6, 0.8], rtol=1e-7)
    assert back[1].features == {}


def test_exported_structure_is_what_pyskl_reads(tmp_path):
    keypoints = np.full((2, 2, 17, 2), np.nan, np.float32)
    keypoints[:, 0] = np.arange(2 * 17 * 2).reshape(2, 17, 2)  # only person 0 exists
    keypoints[1, 0, 3] = np.nan
    source = _store(
        tmp_path / "s.h5",
        [
            Clip(
                id="v1",
                keypoints=keypoints,
                scores=np.ones((2, 2, 17)),
                label=1,
                image_size=(320, 240),
                splits=("xsub_train",),
            )
        ],
    )
    export_pyskl(source, tmp_path / "p.pkl", split_names=["xsub_train"])
    data = pickle.loads((tmp_path / "p.pkl").read_bytes())
    assert data["split"] == {"xsub_train": ["v1"]}
    [ann] = data["annotations"]
    assert ann["frame_dir"] == "v1" and ann["total_frames"] == 2 and ann["label"] == 1
    assert ann["img_shape"] == (240, 320)
    assert ann["keypoint"].shape == (1, 2, 17, 2) and ann["keypoint_score"].shape == (1, 2, 17)  # empty slot dropped
    assert ann["keypoint"].dtype == np.float32
    assert (ann["keypoint"][0, 1, 3] == 0).all() and ann["keypoint_score"][0, 1, 3] == 0
    np.testing.assert_array_equal(ann["keypoint"][0, 0, 5], [10, 11])


def test_unknown_split_is_an_error(tmp_path):
    source = _store(tmp_path / "s.h5", [_random_clip(np.random.default_rng(1), "a", 2, 1, 0, ("train",))])
    with pytest.raises(StoreError, match="no split 'val'"):
        export_pyskl(source, tmp_path / "p.pkl", split_names=["val"])
    assert not (tmp_path / "p.pkl").exists()


def test_imports_a_plain_pyskl_pickle(tmp_path):
    keypoint = np.zeros((2, 3, 25, 3), np.float32)  # NTU 3D: no scores, absent second person all zero
    keypoint[0] = np.arange(3 * 25 * 3).reshape(3, 25, 3) + 1
    data = {
        "split": {"xsub_train": ["S001C001P001R001A001"]},
        "annotations": [
            {
                "frame_dir": "S001C001P001R001A001",
                "total_frames": 3,
                "label": 4,
                "img_shape": (1080, 1920),
                "original_shape": (1080, 1920),
                "keypoint": keypoint,
            }
        ],
    }
    (tmp_path / "ntu.pkl").write_bytes(pickle.dumps(data))
    dataset = read_pyskl([tmp_path / "ntu.pkl"])
    [clip] = list(dataset.clips)
    assert dataset.layout.name == "ntu-25" and dataset.coord_dims == 3 and dataset.classes == list("01234")
    assert clip.keypoints.shape == (3, 2, 25, 3)  # (T, M, V, C) from (M, T, V, C)
    np.testing.assert_array_equal(clip.keypoints[2, 0, 7], keypoint[0, 2, 7])
    assert np.isnan(clip.keypoints[:, 1]).all() and clip.scores is None
    assert clip.splits == ("xsub_train",) and clip.image_size == (1920, 1080) and clip.label == 4


def test_code_in_a_pickle_is_refused(tmp_path):
    class Hostile:
        def __reduce__(self):
            return os.system, ("echo pwned",)

    (tmp_path / "evil.pkl").write_bytes(pickle.dumps({"annotations": [Hostile()]}))
    with pytest.raises(InputError, match=r"evil.pkl.*refusing to load posix.system"):
        read_pyskl([tmp_path / "evil.pkl"])


def test_truncated_and_malformed_pickles_name_the_file(tmp_path):
    good = pickle.dumps({"split": {}, "annotations": [{"frame_dir": "x", "keypoint": np.ones((1, 4, 17, 2))}]})
    (tmp_path / "cut.pkl").write_bytes(good[: len(good) // 2])
    with pytest.raises(InputError, match="cut.pkl"):
        read_pyskl([tmp_path / "cut.pkl"])
    bad = {"split": {}, "annotations": [{"frame_dir": "x", "total_frames": 9, "keypoint": np.ones((1, 4, 17, 2))}]}
    (tmp_path / "bad.pkl").write_bytes(pickle.dumps(bad))
    with pytest.raises(InputError, match=r"bad.pkl.*annotation 0 \(x\).*total_frames 9"):
        list(read_pyskl([tmp_path / "bad.pkl"]).clips)


def test_cli_export_then_convert_back(tmp_path):
    from click.testing import CliRunner

    from posekit.cli import main

    rng = np.random.default_rng(2)
    source = _store(
        tmp_path / "s.h5", [_random_clip(rng, "a", 4, 2, 1, ("train",)), _random_clip(rng, "b", 2, 1, 0, ("test",))]
    )
    runner = CliRunner()
    result = runner.invoke(main, ["store", "export", str(source), "-o", str(tmp_path / "s.pkl")])
    assert result.exit_code == 0 and "exported 2 clips" in result.output
    result = runner.invoke(main, ["convert", "pyskl", str(tmp_path / "s.pkl"), "-o", str(tmp_path / "back.h5")])
    assert result.exit_code == 0, result.output
    with SkeletonStore(tmp_path / "back.h5") as back, SkeletonStore(source) as before:
        np.testing.assert_array_equal(back.frames(0)["keypoints"], before.frames(0)["keypoints"])


def test_annotations_that_are_not_records_name_the_file(tmp_path):
    (tmp_path / "odd.pkl").write_bytes(pickle.dumps({"annotations": [np.zeros(3)]}))
    with pytest.raises(InputError, match="odd.pkl"):
        read_pyskl([tmp_path / "odd.pkl"])
