"""Every command that writes refuses an existing output unless --force (posekit.outputs), and --force replaces it."""

import click
import numpy as np
import pytest
from click.testing import CliRunner

from posekit.cli import main
from posekit.store import SkeletonStore
from tests.cli.test_refine_show import black_video
from tests.extract.synthetic import crossing, write_mmpose_json, write_video
from tests.refine.test_refine_store import track_poses, write_proposals

UNRELATED = "someone's notes, not an output of posekit"


def leaf_commands(group, path=()):
    """(``"store merge"``, command) for every command under ``group``, however deep."""
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            yield from leaf_commands(command, path + (name,))
        else:
            yield " ".join(path + (name,)), command


def flags(command) -> set[str]:
    return {flag for param in command.params for flag in param.opts}


def test_every_command_with_an_output_option_has_force():
    writers = {name for name, command in leaf_commands(main) if flags(command) & {"-o", "--output"}}
    assert {"convert", "extract", "refine", "show", "demo", "rodent detect", "store merge"} <= writers
    assert (
        sorted(name for name, command in leaf_commands(main) if name in writers and "--force" not in flags(command))
        == []
    )


@pytest.fixture
def unrelated(tmp_path):
    def make(name):
        path = tmp_path / name
        path.write_text(UNRELATED)
        return path

    return make


def refused_then_forced(args, output):
    """Run ``args`` on an existing ``output``: refused and left alone, then replaced with --force."""
    refused = CliRunner().invoke(main, args)
    assert refused.exit_code == 2
    assert refused.output == f"posekit: error: {output}: exists; use --force to replace it or choose another -o\n"
    assert output.read_text() == UNRELATED
    forced = CliRunner().invoke(main, args + ["--force"])
    assert forced.exit_code == 0, forced.output
    assert [p.name for p in output.parent.iterdir() if p.name.startswith(f".{output.name}")] == []  # nor a lock
    return forced


def test_extract_refuses_an_existing_output(tmp_path, unrelated):
    poses = crossing(frames=6)
    write_video(tmp_path / "v.mp4", poses)
    (tmp_path / "mm").mkdir()
    write_mmpose_json(tmp_path / "mm" / "v.json", poses)
    output = unrelated("p.h5")
    refused_then_forced(
        ["extract", str(tmp_path / "v.mp4"), "-o", str(output), "--experts", f"mmpose-json:{tmp_path / 'mm'}"], output
    )
    with SkeletonStore(output) as store:
        assert list(store.ids) == ["v@mmpose-json"]


@pytest.fixture
def proposals(tmp_path):
    pose = track_poses(np.random.default_rng(0), 6) * 0.5  # inside a 160 x 120 frame
    clips = {e: (pose[:, None] + shift, np.zeros((6, 1), int)) for shift, e in enumerate("ab")}
    return write_proposals(tmp_path / "proposals.h5", {"clip": clips}, experts=["a", "b"], image_size=(160, 120))


def test_refine_refuses_an_existing_output(proposals, unrelated):
    output = unrelated("r.h5")
    refused_then_forced(["refine", str(proposals), "-o", str(output)], output)
    with SkeletonStore(output) as store:
        assert list(store.ids) == ["clip"]


def test_show_refuses_an_existing_output(proposals, tmp_path, unrelated):
    video = black_video(tmp_path / "clip.mp4")
    output = unrelated("drawn.mp4")
    forced = refused_then_forced(
        ["show", str(proposals), "--video", str(video), "--clip", "clip", "-o", str(output)], output
    )
    assert "of 12 frames" in forced.output and output.stat().st_size > len(UNRELATED)


def test_rodent_detect_refuses_to_replace_a_trained_detector(tmp_path, unrelated):
    detector = unrelated("tracks.detector.pth")  # where -o tracks.h5 saves the detector it trains
    result = CliRunner().invoke(main, ["rodent", "detect", str(tmp_path / "videos"), "-o", str(tmp_path / "tracks.h5")])
    assert result.exit_code == 2 and f"{detector}: exists; use --force" in result.output
    assert detector.read_text() == UNRELATED


def test_demo_refuses_a_folder_that_holds_files(tmp_path, unrelated):
    notes = unrelated("notes.txt")
    result = CliRunner().invoke(main, ["demo", "-o", str(tmp_path), "--no-train"])
    assert result.exit_code == 2 and f"{notes}: exists; use --force" in result.output
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]
