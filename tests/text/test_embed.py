"""``posekit text embed``: clip rows as the normalised mean of their captions' vectors, class rows from names and
descriptions, written as feature arrays; on Penn Action, template captions find their own class."""

import json

import numpy as np
import pytest
from click.testing import CliRunner

from posekit.cli import main
from posekit.convert import convert
from posekit.store import Clip, SkeletonStore, StoreWriter
from posekit.text.embed import mean_embeddings
from posekit.text.encoders import BagOfWords
from tests.conftest import real_file


class OneHot:
    """An encoder whose vectors are known: text k of ``vocabulary`` is unit vector k; counts the texts encoded."""

    name = description = "one-hot"

    def __init__(self, vocabulary):
        self.vocabulary, self.dim, self.encoded = list(vocabulary), len(vocabulary), []

    def encode(self, texts):
        self.encoded += texts
        return np.eye(self.dim, dtype=np.float32)[[self.vocabulary.index(t) for t in texts]]


def run(*args):
    result = CliRunner().invoke(main, [str(a) for a in args])
    return result.exit_code, result.output


def test_a_row_is_the_normalised_mean_of_its_texts_each_encoded_once():
    encoder = OneHot(["x", "y", "z"])
    rows = mean_embeddings(encoder, [["x", "y"], [], ["z"], ["x", "x", "y"], ["x"]])
    np.testing.assert_allclose(rows[0], [1 / np.sqrt(2), 1 / np.sqrt(2), 0], rtol=1e-6)
    assert np.isnan(rows[1]).all()
    np.testing.assert_array_equal(rows[2], [0, 0, 1])
    np.testing.assert_allclose(rows[3], np.array([2, 1, 0]) / np.sqrt(5), rtol=1e-6)  # mean (2/3, 1/3) normalised
    assert sorted(encoder.encoded) == ["x", "y", "z"]


def test_embed_command_writes_clip_and_class_arrays(tmp_path):
    path = tmp_path / "s.h5"
    with StoreWriter(
        path, "penn-13", coord_dims=2, classes=["run", "jump_rope"], class_descriptions=["", "skipping a rope"]
    ) as w:
        for i, text in enumerate(["a person runs\nsomeone running", "", "a person jumps rope"]):
            w.add(Clip(id=f"c{i}", keypoints=np.ones((3, 1, 13, 2)), label=i % 2, text=text))
    code, out = run("text", "embed", path, "--encoder", "bow")
    assert code == 0, out
    assert "embedded 3 captions of 2 clips and 2 classes (bow-1024, 1024-d)" in out
    bow = BagOfWords()
    with SkeletonStore(path) as store:
        clips, classes = store.feature("text"), store.class_feature("text")
        assert store.encoders == {"features/text": "bow-1024", "class_features/text": "bow-1024"}
        assert store.provenance[-1]["step"] == "text-embed"
    expected = bow.encode(["a person runs"])[0] + bow.encode(["someone running"])[0]
    np.testing.assert_allclose(clips[0], expected / np.linalg.norm(expected), atol=1e-6)
    assert np.isnan(clips[1]).all()
    np.testing.assert_allclose(clips[2], bow.encode(["a person jumps rope"])[0], atol=1e-6)
    np.testing.assert_allclose(classes[0], bow.encode(["run"])[0], atol=1e-6)
    expected = bow.encode(["jump rope"])[0] + bow.encode(["skipping a rope"])[0]
    np.testing.assert_allclose(classes[1], expected / np.linalg.norm(expected), atol=1e-6)
    code, out = run("text", "embed", path, "--encoder", "bow")
    assert code == 2 and "feature 'text' exists; --force replaces it" in out
    code, out = run("store", "info", path, "--json")
    assert json.loads(out)["class_features"] == {"text": [1024]}
    code, out = run("store", "info", path)
    assert "text: 3 captions on 2 clips, 1 of 2 classes described" in out
    assert "features: text 1024-d (bow-1024); class features: text 1024-d (bow-1024)" in out
    assert run("store", "validate", path)[0] == 0


def test_embed_refuses_a_store_without_captions(tmp_path):
    path = tmp_path / "s.h5"
    with StoreWriter(path, "penn-13", coord_dims=2, classes=["run"]) as w:
        w.add(Clip(id="c", keypoints=np.ones((3, 1, 13, 2)), label=0))
    before = path.read_bytes()
    code, out = run("text", "embed", path, "--encoder", "bow")
    assert code == 2 and "no clip has a caption; `posekit text caption" in out
    assert path.read_bytes() == before


@pytest.mark.parametrize("encoder", ["minilm", "bow"])
def test_penn_action_template_captions_are_nearest_their_own_class(tmp_path, encoder):
    """Zero-shot as the arrays are meant for: each clip's caption vector against every class vector."""
    labels = sorted(real_file("actions/penn_action/labels").glob("*.mat"))[::80]  # 30 clips, every class
    path = tmp_path / "penn.h5"
    convert("penn-action", labels, path)
    assert run("text", "caption", path)[0] == 0
    code, out = run("text", "embed", path, "--encoder", encoder)
    assert code == 0, out
    with SkeletonStore(path) as store:
        scores = store.feature("text") @ store.class_feature("text").T
        assert len(set(store.labels)) == len(store.classes) == 15
        np.testing.assert_array_equal(scores.argmax(axis=1), store.labels)


def test_feature_names_with_a_slash_are_refused(tmp_path):
    path = tmp_path / "s.h5"
    with StoreWriter(path, "penn-13", coord_dims=2, classes=["run"]) as w:
        w.add(Clip(id="c", keypoints=np.ones((3, 1, 13, 2)), label=0, text="a person runs"))
    code, out = run("text", "embed", path, "--encoder", "bow", "--name", "text/bow")
    assert code == 2 and "feature name 'text/bow': give a non-empty name without '/'" in out
