"""Template captions: class names as phrases, templates checked and filled, and ``posekit text caption``."""

import json

import numpy as np
import pytest
from click.testing import CliRunner

from posekit.cli import main
from posekit.errors import InputError
from posekit.store import Clip, SkeletonStore, StoreWriter
from posekit.text.captions import DEFAULT_TEMPLATES, check_templates, class_captions, class_phrase, read_templates


def run(*args):
    result = CliRunner().invoke(main, [str(a) for a in args])
    return result.exit_code, result.output


def store(path, labels=(0, 1, -1), texts=None):
    texts = texts or [""] * len(labels)
    with StoreWriter(
        path, "penn-13", coord_dims=2, classes=["jumping_jacks", "PickUp"], class_descriptions=["", "lift an object"]
    ) as w:
        for i, (label, text) in enumerate(zip(labels, texts)):
            w.add(Clip(id=f"c{i}", keypoints=np.ones((3, 1, 13, 2)), label=label, text=text))
    return path


@pytest.mark.parametrize(
    "name, phrase",
    [
        ("jumping_jacks", "jumping jacks"),
        ("clean_and_jerk", "clean and jerk"),
        ("PickUp", "pick up"),
        ("playGuitar", "play guitar"),
        ("tennis-serve", "tennis serve"),
        ("pick up with one hand", "pick up with one hand"),
        ("watch TV", "watch TV"),
        ("HTTPServer", "HTTP server"),
        ("eat meal/snack", "eat meal/snack"),
    ],
)
def test_class_names_become_phrases(name, phrase):
    assert class_phrase(name) == phrase


def test_templates_are_filled_and_description_ones_skipped_without_a_description():
    templates = ["a person {action}", "{name}: {description}", "a person  {action}"]
    assert class_captions("jumping_jacks", "", templates) == ["a person jumping jacks"]  # the repeat dropped
    assert class_captions("PickUp", " lift \n an object ", templates) == ["a person pick up", "PickUp: lift an object"]
    assert class_captions("PickUp", "lift an object", DEFAULT_TEMPLATES) == [
        "a person pick up",
        "a video of a person pick up",
        "lift an object",
    ]


@pytest.mark.parametrize(
    "template, message",
    [
        ("a person {verb}", r"unknown field \{verb\}; fields: \{action\}, \{name\}, \{description\}"),
        ("a person", "names no field"),
        ("a person {action", "caption template 'a person {action'"),
    ],
)
def test_bad_templates_are_refused_in_one_line(template, message):
    with pytest.raises(InputError, match=message):
        check_templates([template])


def test_templates_file_has_one_per_line(tmp_path):
    path = tmp_path / "t.txt"
    path.write_text("someone is {action}\n\n  {description}  \n")
    assert read_templates(path) == ["someone is {action}", "{description}"]


def test_caption_command_writes_labelled_clips_and_refuses_to_overwrite(tmp_path):
    path = store(tmp_path / "s.h5")
    code, out = run("text", "caption", path)
    assert code == 0, out
    assert "captioned 2 clips (5 captions from 3 templates, e.g. 'a person jumping jacks')" in out
    assert "1 clips have no caption" in out
    with SkeletonStore(path) as s:
        assert s.captions() == [
            ["a person jumping jacks", "a video of a person jumping jacks"],
            ["a person pick up", "a video of a person pick up", "lift an object"],
            [],  # unlabelled
        ]
        assert s.provenance[-1]["step"] == "text-caption"
        assert s.provenance[-1]["templates"] == list(DEFAULT_TEMPLATES)
    before = path.read_bytes()
    code, out = run("text", "caption", path, "-t", "someone does {action}")
    assert code == 2 and "2 clips have captions already; --force replaces them" in out
    assert path.read_bytes() == before
    code, out = run("text", "caption", path, "-t", "someone does {action}", "--force")
    assert code == 0
    with SkeletonStore(path) as s:
        assert s.captions() == [["someone does jumping jacks"], ["someone does pick up"], []]


def test_only_missing_keeps_existing_captions_and_output_leaves_the_store(tmp_path):
    path = store(tmp_path / "s.h5", labels=(0, 1), texts=["a man does star jumps", ""])
    before = path.read_bytes()
    templates = tmp_path / "t.txt"
    templates.write_text("someone does {action}\n")
    code, out = run("text", "caption", path, "--templates", templates, "--only-missing", "-o", tmp_path / "out.h5")
    assert code == 0 and f"-> {tmp_path / 'out.h5'}" in out
    assert path.read_bytes() == before
    with SkeletonStore(tmp_path / "out.h5") as s:
        assert s.captions() == [["a man does star jumps"], ["someone does pick up"]]
    code, out = run("text", "caption", path, "-o", tmp_path / "out.h5")
    assert code == 2 and "exists; use --force" in out
    code, out = run("store", "info", tmp_path / "out.h5", "--json")
    info = json.loads(out)
    assert (info["captions"], info["captioned_clips"], info["described_classes"]) == (2, 2, 1)
