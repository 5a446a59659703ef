"""`posekit convert`'s progress bar: never a "0clip" bar left behind by a file read in one go; none at all where
stderr is not a terminal (a log, a pipe, a test runner), and on a terminal only for a conversion that lasts."""

import io

import numpy as np
from click.testing import CliRunner

from posekit.cli import main
from posekit.convert import convert
from posekit.layouts import get_layout
from posekit.sample import IMAGE_SIZE, make_sample


def one_npz_of_many_clips(path, clips_per_action=40):
    """The sample's clips (160 of them) stacked in one .npz with ``lengths``: one file, read in one go."""
    clips = list(make_sample(clips_per_action))
    np.savez(
        path,
        keypoints=np.concatenate([kp for _, _, kp, _ in clips]),
        scores=np.concatenate([sc for _, _, _, sc in clips]),
        lengths=np.array([len(kp) for _, _, kp, _ in clips]),
        id=np.array([clip_id for clip_id, *_ in clips]),
        joint_names=np.array(get_layout("coco-17").joints),
        image_size=np.array(IMAGE_SIZE),
    )
    return len(clips)


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_convert_prints_its_summary_and_no_progress_bar(tmp_path):
    clips = one_npz_of_many_clips(tmp_path / "many.npz")
    result = CliRunner().invoke(main, ["convert", "npz", str(tmp_path / "many.npz"), "-o", str(tmp_path / "s.h5")])
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    assert result.output == f"converted {clips} clips (npz, layout npz-17) -> {tmp_path / 's.h5'}\n"


def test_on_a_terminal_a_quick_conversion_draws_no_bar_that_counts_nothing(tmp_path, monkeypatch):
    clips = one_npz_of_many_clips(tmp_path / "many.npz")
    terminal = Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    summary = convert("npz", [tmp_path / "many.npz"], tmp_path / "s.h5")
    assert summary["clips"] == clips
    drawn = [state for state in terminal.getvalue().split("\r") if "clip" in state]
    assert not any(" 0clip" in state for state in drawn)  # drawn at all only after clips were counted
