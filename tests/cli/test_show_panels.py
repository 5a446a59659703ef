"""posekit show with no video: clips side by side, a titled panel each, looped to the longest; a contact sheet;
the video path still draws on the video's frames."""

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from posekit.cli.show import show
from posekit.draw import fit_into
from posekit.errors import PosekitError
from posekit.store import Clip, StoreWriter
from tests.cli.test_refine_show import FRAMES, HEIGHT, WIDTH, black_video, proposals, read_video  # noqa: F401
from tests.synth.tiny import LAYOUT, STANDING

LENGTHS = {"motion": 10, "like": 6, "result": 10, "extra": 4}


@pytest.fixture
def store(tmp_path):
    """Four clips of a standing figure moving right, of different lengths and scales (metres, pixels...)."""
    path = tmp_path / "clips.h5"
    with StoreWriter(path, LAYOUT, coord_dims=2) as writer:
        for k, (clip_id, frames) in enumerate(LENGTHS.items()):
            joints = STANDING[None, :, :2] * 10**k + np.arange(frames)[:, None, None] * [0.05, 0]
            writer.add(Clip(id=clip_id, keypoints=joints[:, None].astype(np.float32), fps=10.0))
    return path


def run(args):
    return CliRunner().invoke(show, [str(a) for a in args])


def panels_drawn(image: np.ndarray, size: int) -> list[int]:
    """Bright pixels below the title band of each panel of one frame."""
    return [int((image[40:, x : x + size].max(axis=-1) > 100).sum()) for x in range(0, image.shape[1], size)]


def test_fit_into_scales_uniformly_and_centres_below_the_title():
    points = np.array([[0.0, 0.0], [2.0, 1.0], [np.nan, np.nan]])
    # box 2 x 1 into 100 x (120 - 20): scale min(100 / 2, 100 / 1) = 50, centred at (50, 20 + 50)
    np.testing.assert_allclose(fit_into(points, 100, 120, top=20, margin=0), [[0, 45], [100, 95], [np.nan] * 2])


def test_panels_side_by_side_loop_to_the_longest_clip(store, tmp_path):
    output = tmp_path / "panels.mp4"
    result = run([store, "-o", output, "--clips", "motion,like,result", "--panel-size", "160"])
    assert result.exit_code == 0, result.output
    assert (
        f"drew 3 clips side by side over 10 frames (shorter clips loop): motion, like, result -> {output}\n"
        in result.output
    )
    frames = read_video(output)
    assert frames.shape == (10, 160, 3 * 160, 3)  # width = panels x panel width
    assert all(n > 50 for image in frames for n in panels_drawn(image, 160))  # every clip in every frame
    # each clip fills its panel whatever its units: the same figure, 1 or 100 times bigger, drawn alike
    first = [frames[0][:, x : x + 160].max(axis=-1) > 100 for x in (0, 320)]
    assert abs(int(first[0].sum()) - int(first[1].sum())) < 0.2 * first[0].sum()


def test_a_contact_sheet_has_a_row_per_clip_and_the_store_is_cut_to_max_panels(store, tmp_path):
    output = tmp_path / "sheet.png"
    result = run([store, "-o", output, "--frames", "4", "--max-panels", "2", "--panel-size", "100"])
    assert result.exit_code == 0, result.output
    assert (
        "4 evenly spaced frames of each of 2 clips, a row each: motion, like (the first 2 of 4; choose with "
        "--clips)" in result.output
    )
    image = cv2.imread(str(output))
    assert image.shape == (2 * 100, 4 * 100, 3)
    assert all(n > 20 for row in (image[:100], image[100:]) for n in panels_drawn(row, 100))


@pytest.mark.parametrize(
    "args, message",
    [
        (["--clips", "motion,nope"], "clips.h5: no clip 'nope' (ids: motion, like, result, extra; or an index 0..3)"),
        (["--frames", "3"], "panels.mp4: --frames K writes a contact sheet (.png or .jpg)"),
        (["--clip", "motion"], "--clip picks what is drawn on --video"),
    ],
)
def test_bad_panel_options_are_one_line(store, tmp_path, args, message):
    result = run([store, "-o", tmp_path / "panels.mp4", *args])
    assert isinstance(result.exception, PosekitError) and message in str(result.exception)
    assert not (tmp_path / "panels.mp4").exists()


def test_the_video_path_is_unchanged(proposals, tmp_path):  # noqa: F811
    from posekit.cli import main

    assert CliRunner().invoke(main, ["refine", str(proposals), "-o", str(tmp_path / "r.h5")]).exit_code == 0
    video = black_video(tmp_path / "clip.mp4")
    result = run([tmp_path / "r.h5", "--video", video, "-o", tmp_path / "drawn.mp4"])
    assert result.exit_code == 0, result.output
    assert "on 4 of 12 frames" in result.output
    assert read_video(tmp_path / "drawn.mp4").shape == (FRAMES, HEIGHT, WIDTH, 3)
    refused = run([tmp_path / "r.h5", "--video", video, "-o", tmp_path / "drawn.mp4", "--clips", "x"])
    assert "--clips and --frames draw panels without a video" in str(refused.exception)
