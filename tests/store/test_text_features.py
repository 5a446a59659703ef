"""Captions, class descriptions and feature arrays (per clip and per class) in a store: written, read, merged,
summarised and validated."""

import h5py
import numpy as np
import pytest

from posekit.store import (
    Clip,
    SkeletonStore,
    StoreEditor,
    StoreError,
    StoreWriter,
    decode_captions,
    encode_captions,
)
from posekit.store.merge import merge
from posekit.store.validate import validate


def clip(clip_id, label, text="", features=None):
    keypoints = np.random.default_rng(len(clip_id)).normal(size=(4, 1, 13, 2))
    return Clip(id=clip_id, keypoints=keypoints, label=label, text=text, features=features or {})


def write(path, clips, classes, descriptions=None, class_features=None, encoder=None):
    """A penn-13 store; ``class_features``: {name: (K, D) rows}; ``encoder`` recorded on every array."""
    with StoreWriter(path, "penn-13", coord_dims=2, classes=classes, class_descriptions=descriptions) as w:
        for c in clips:
            w.add(c)
        for name, rows in (class_features or {}).items():
            for index, row in enumerate(rows):
                w.set_class_feature(name, index, row)
            if encoder:
                w.record_encoder(f"features/{name}", encoder)
                w.record_encoder(f"class_features/{name}", encoder)
    return path


def test_captions_are_one_per_line_and_older_single_texts_read_as_one():
    text = encode_captions(["a person runs", "  someone\nis running  ", "", "a person jumps"])
    assert text == "a person runs\nsomeone is running\na person jumps"
    assert decode_captions(text) == ["a person runs", "someone is running", "a person jumps"]
    assert decode_captions("A man rides a horse.") == ["A man rides a horse."]  # a store before several captions
    assert decode_captions("") == [] and encode_captions([]) == ""


def test_info_counts_captions_described_classes_and_array_dimensions(tmp_path):
    path = write(
        tmp_path / "s.h5",
        [clip("a", 0, "run\nrunning", {"text": [1, 0, 0]}), clip("b", 1), clip("c", 1, "jump")],
        ["run", "jump"],
        descriptions=["moving fast on foot", ""],
        class_features={"text": np.eye(2, 3)},
        encoder="bow-3",
    )
    with SkeletonStore(path) as store:
        info = store.info()
        assert store.captions() == [["run", "running"], [], ["jump"]]
        assert store[0].captions == ["run", "running"]
        np.testing.assert_array_equal(store.class_feature("text"), np.eye(2, 3))
        features = store.feature("text")
    assert (info["captions"], info["captioned_clips"], info["described_classes"]) == (3, 2, 1)
    assert info["features"] == {"text": [3]} and info["class_features"] == {"text": [3]}
    assert info["encoders"] == {"features/text": "bow-3", "class_features/text": "bow-3"}
    np.testing.assert_array_equal(features[0], [1, 0, 0])
    assert np.isnan(features[1:]).all()  # clips without the feature: NaN rows


def test_merge_keeps_captions_features_descriptions_and_class_rows(tmp_path):
    a = write(
        tmp_path / "a.h5",
        [clip("a1", 0, "a person runs", {"text": [1, 0]}), clip("a2", 1)],
        ["run", "jump"],
        descriptions=["moving fast on foot", ""],
        class_features={"text": [[1, 0], [np.nan, np.nan]]},
        encoder="enc",
    )
    b = write(
        tmp_path / "b.h5",
        [clip("b1", 0, "a person jumps\nsomeone jumps", {"text": [0, 1]}), clip("b2", 1, "a person waves")],
        ["jump", "wave"],
        descriptions=["both feet leave the ground", "hand moves side to side"],
        class_features={"text": [[0, 1], [0.6, 0.8]]},
        encoder="enc",
    )
    merge([a, b], tmp_path / "ab.h5", progress=False)
    with SkeletonStore(tmp_path / "ab.h5") as store:
        assert store.classes == ["run", "jump", "wave"]
        # A's description stays; A's empty one for "jump" takes B's; "wave" is new
        assert store.class_descriptions == [
            "moving fast on foot",
            "both feet leave the ground",
            "hand moves side to side",
        ]
        by_id = dict(zip(store.ids, store.captions()))
        assert by_id == {
            "a1": ["a person runs"],
            "a2": [],
            "b1": ["a person jumps", "someone jumps"],
            "b2": ["a person waves"],
        }
        features = dict(zip(store.ids, store.feature("text")))
        np.testing.assert_array_equal(features["a1"], [1, 0])
        np.testing.assert_array_equal(features["b1"], [0, 1])
        assert np.isnan(features["a2"]).all() and np.isnan(features["b2"]).all()
        # A's row for "run" kept, its NaN row for "jump" filled by B's, "wave" appended
        np.testing.assert_allclose(store.class_feature("text"), [[1, 0], [0, 1], [0.6, 0.8]], rtol=1e-7)
        assert store.encoders == {"features/text": "enc", "class_features/text": "enc"}
    assert validate(tmp_path / "ab.h5") == []


def test_merge_grows_class_rows_for_classes_that_bring_none(tmp_path):
    a = write(tmp_path / "a.h5", [clip("a1", 0)], ["run"], class_features={"text": [[1, 0]]})
    b = write(tmp_path / "b.h5", [clip("b1", 0)], ["wave"])
    merge([a, b], tmp_path / "ab.h5", progress=False)
    with SkeletonStore(tmp_path / "ab.h5") as store:
        rows = store.class_feature("text")
    assert rows.shape == (2, 2) and np.isnan(rows[1]).all()
    assert validate(tmp_path / "ab.h5") == []


def test_merge_refuses_embeddings_of_different_encoders(tmp_path):
    a = write(tmp_path / "a.h5", [clip("a1", 0, "x", {"text": [1, 0]})], ["run"], {}, {"text": [[1, 0]]}, "minilm")
    b = write(tmp_path / "b.h5", [clip("b1", 0, "y", {"text": [0, 1]})], ["run"], {}, {"text": [[0, 1]]}, "bow-2")
    with pytest.raises(StoreError, match="features/text was made by 'bow-2'.*'minilm'"):
        merge([a, b], tmp_path / "ab.h5", progress=False)
    assert not (tmp_path / "ab.h5").exists()


def test_validate_names_arrays_whose_rows_do_not_match(tmp_path):
    path = write(tmp_path / "s.h5", [clip("a", 0, features={"text": [1, 0]}), clip("b", 1)], ["run", "jump"])
    with StoreEditor(path) as editor:
        editor.new_class_feature("text", 2)
    assert validate(path) == []
    with h5py.File(path, "r+") as f:
        f["class_features/text"].resize(3, axis=0)
        f["features/text"].resize(1, axis=0)
        del f["classes/description"]
        f["classes/description"] = np.array(["one"], dtype=object)
    problems = "\n".join(validate(path))
    assert "/features/text has 1 rows for 2 clips" in problems
    assert "/class_features/text has 3 rows for 2 classes" in problems
    assert "classes/description has 1 rows for 2 class names" in problems


def test_validate_refuses_a_class_array_that_is_not_a_float_matrix(tmp_path):
    path = write(tmp_path / "s.h5", [clip("a", 0)], ["run"])
    with h5py.File(path, "r+") as f:
        f.create_group("class_features").create_dataset("text", data=np.zeros(1, np.int32))
    problems = "\n".join(validate(path))
    assert "class_features/text/kind: 'i' is not one of ['f']" in problems


def test_editor_replaces_the_store_only_when_the_edit_completes(tmp_path):
    path = write(tmp_path / "s.h5", [clip("a", 0, "old")], ["run"])
    before = path.read_bytes()
    with pytest.raises(RuntimeError):
        with StoreEditor(path, provenance={"step": "test"}) as editor:
            editor.set_captions([["new"]])
            raise RuntimeError("interrupted")
    assert path.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["s.h5"]
    with StoreEditor(path, tmp_path / "out.h5", provenance={"step": "test"}) as editor:
        editor.set_captions([["new", "newer"]])
        editor.new_feature("text", 3, encoder="enc")[0] = [0, 0, 1]
    assert path.read_bytes() == before
    with SkeletonStore(tmp_path / "out.h5") as store:
        assert store.captions() == [["new", "newer"]]
        assert store.provenance[-1]["step"] == "test" and store.encoders == {"features/text": "enc"}
        np.testing.assert_array_equal(store.feature("text"), [[0, 0, 1]])


def test_editor_refuses_captions_for_another_number_of_clips(tmp_path):
    path = write(tmp_path / "s.h5", [clip("a", 0), clip("b", 0)], ["run"])
    with pytest.raises(StoreError, match="1 caption lists for 2 clips"):
        with StoreEditor(path) as editor:
            editor.set_captions([["x"]])


def test_class_rows_outside_the_classes_are_refused(tmp_path):
    with pytest.raises(StoreError, match="class 2 outside the 2"):
        write(tmp_path / "s.h5", [clip("a", 0)], ["run", "jump"], class_features={"text": np.eye(3)})
