import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from posekit.cli import main
from posekit.layouts import Layout
from posekit.rodent.kinematics.measures import body_centre, per_minute, summary, track_kinematics, unwrap_valid
from posekit.store import Clip, SkeletonStore, StoreWriter
from tests.conftest import real_file
from tests.crafted import assert_one_line_error, dlc_frame, hostile_dlc_h5

BSOID = "animal/bsoid_dlc/raw_clip1DLC_resnet50_OpenFieldHighResApr8shuffle1_1030000.h5"
VAME = "animal/vame_sample/tests_project_sample_data__cropped_video.csv"
FLIES = "animal/sleap/hdf5_format_v1/centered_pair_predictions.slp"  # 2 flies, 24 nodes, legs come and go


def test_constant_velocity_track_has_the_hand_computed_speed_heading_and_path():
    t = np.arange(11, dtype=np.float64)
    centre = np.stack([10 + 3 * t, 20 - 4 * t], axis=1)  # 5 px per frame
    table = track_kinematics(centre, fps=10, head=centre + [1.0, 1.0], moving_speed=49)
    np.testing.assert_allclose(table["vx"], 30)
    np.testing.assert_allclose(table["vy"], -40)
    np.testing.assert_allclose(table["speed"], 50)
    np.testing.assert_allclose(table["acceleration"], 0, atol=1e-9)
    np.testing.assert_allclose(table["heading"], np.pi / 4)
    np.testing.assert_allclose(table["angular_velocity"], 0, atol=1e-12)
    np.testing.assert_allclose(table["path_length"], 5 * t)
    np.testing.assert_allclose(table["time_s"], t / 10)
    assert table["moving"].all()
    assert not track_kinematics(centre, fps=10, moving_speed=51)["moving"].any()
    assert "heading" not in track_kinematics(centre, fps=10)


def test_heading_keeps_counting_through_full_turns_and_gaps():
    t = np.arange(40, dtype=np.float64)
    angle = 0.5 * t  # 20 rad: more than three full turns
    tail = np.zeros((40, 2))
    head = np.stack([np.cos(angle), np.sin(angle)], axis=1)
    head[17] = np.nan
    table = track_kinematics(np.zeros((40, 2)), fps=4, head=head, tail=tail)
    expected = angle.copy()
    expected[17] = np.nan
    np.testing.assert_allclose(table["heading"], expected, atol=1e-9)
    np.testing.assert_allclose(table["angular_velocity"].iloc[:15], 2.0)  # 0.5 rad/frame * 4 frames/s
    assert np.isnan(unwrap_valid(np.array([np.nan, 1.0]))[0])


def test_missing_positions_add_no_path():
    centre = np.array([[0, 0], [3, 4], [np.nan, np.nan], [9, 12], [12, 16]], np.float64)
    table = track_kinematics(centre, fps=1)
    np.testing.assert_allclose(table["path_length"], [0, 5, 5, 5, 10])
    assert np.isnan(table["speed"].iloc[2])


def _rigid_walk(turn_per_frame: float, frames: int = 30) -> tuple[np.ndarray, np.ndarray]:
    """(T, 1, 4, 2) joints of a rigid body whose joints' mean moves 3 px right and 4 px up per frame (5 px a
    frame) while the body turns about that mean, and the mean's true path (T, 2)."""
    shape = np.array([[0, 0], [10, 0], [-10, 0], [4, 8]], np.float64)  # thorax, head, abdomen, one leg
    shape -= shape.mean(axis=0)
    t = np.arange(frames, dtype=np.float64)
    path = np.stack([100 + 3 * t, 200 - 4 * t], axis=1)
    angle = turn_per_frame * t
    cos, sin = np.cos(angle)[:, None], np.sin(angle)[:, None]
    turned = np.stack([cos * shape[:, 0] - sin * shape[:, 1], sin * shape[:, 0] + cos * shape[:, 1]], axis=-1)
    return (turned + path[:, None])[:, None], path


@pytest.mark.parametrize("turn_per_frame", [0.0, 0.1])
def test_centre_keeps_a_steady_speed_when_a_leg_comes_and_goes(turn_per_frame):
    keypoints, path = _rigid_walk(turn_per_frame)
    keypoints[5:10, 0, 3] = np.nan  # the leg vanishes for five frames, comes back,
    keypoints[15::3, 0, 3] = np.nan  # then flickers on every third frame
    centre = body_centre(keypoints)[:, 0]
    np.testing.assert_allclose(centre, path, atol=1e-9)  # the mean of all four joints, present or not
    np.testing.assert_allclose(track_kinematics(centre, fps=10)["speed"], 50, rtol=1e-9)  # 5 px x 10 frames/s
    # The old rule, the mean of the joints present, jumps where the leg vanishes: the other three joints' mean is
    # the centre minus a third of the leg's offset, so at frame 4 the central difference (c5 - c3) / 2 frames is
    # the step (3, -4) minus a sixth of the leg's offset at frame 5.
    leg = _rigid_walk(turn_per_frame)[0][5, 0, 3] - path[5]
    present_mean = np.nanmean(keypoints[:, 0], axis=1)
    old_speed = track_kinematics(present_mean, fps=10)["speed"]
    assert old_speed[4] == pytest.approx(10 * np.hypot(*([3, -4] - leg / 6)))
    assert abs(old_speed[4] - 50) > 5


def test_centre_needs_half_the_joints_and_skips_joints_never_seen():
    keypoints, path = _rigid_walk(0.0, frames=4)
    keypoints[1, 0, 1:] = np.nan  # one joint of four left: below half, no centre
    keypoints[:, 0, 3] = np.nan  # the leg is never seen: the centre is the mean of the other three
    centre = body_centre(keypoints)[:, 0]
    assert np.isnan(centre[1]).all()
    np.testing.assert_allclose(centre[[0, 2, 3]], keypoints[[0, 2, 3], 0, :3].mean(axis=1))
    np.testing.assert_allclose(body_centre(keypoints, [2])[:, 0], keypoints[:, 0, 2])  # one joint is the centre


def test_per_minute_distance_and_time_moving():
    fps = 2
    x = np.concatenate([np.arange(120) * 1.0, np.full(180, 119.0)])  # 2 px/s for one minute, then still
    table = track_kinematics(np.stack([x, np.zeros_like(x)], 1), fps=fps, moving_speed=1.0)
    minutes = per_minute(table, fps)
    assert minutes["minute"].tolist() == [0, 1, 2]
    np.testing.assert_allclose(minutes["distance"], [119, 0, 0])
    # frame 119, the last of the walk, has a central-difference speed of (119 - 118) / 2 frames = 1 px/s:
    # not above 1, so 119 moving frames (59.5 s) and one still frame in the first minute
    np.testing.assert_allclose(minutes["moving_s"], [59.5, 0, 0])
    np.testing.assert_allclose(minutes["still_s"], [0.5, 60, 30])
    totals = summary(table, fps)
    assert totals["duration_s"] == 150 and totals["path_length"] == 119 and totals["moving_s"] == 59.5


def _store(path, fps=float("nan")):
    layout = Layout(name="mouse-3", joints=("snout", "centre", "tailbase"))
    t = np.arange(50, dtype=np.float32)
    body = np.stack([100 + 2 * t, np.full_like(t, 50)], axis=1)  # 2 px per frame to the right
    kp = np.stack([body + [10, 0], body, body - [10, 0]], axis=1)[:, None]  # (T, 1, 3, 2)
    scores = np.ones(kp.shape[:3], np.float32)
    scores[20:22, 0, :] = 0.2  # two bad frames, bridged with --max-gap 2
    with StoreWriter(path, layout, coord_dims=2, provenance={"step": "test"}) as w:
        w.add(Clip(id="mouse", keypoints=kp, scores=scores, fps=fps, source="mouse.csv"))
    return path


def test_command_writes_a_cleaned_store_tables_and_a_figure(tmp_path):
    store = _store(tmp_path / "in.h5", fps=25)
    result = CliRunner().invoke(
        main,
        [
            "rodent",
            "kinematics",
            str(store),
            "-o",
            str(tmp_path / "out"),
            "--min-confidence",
            "0.5",
            "--max-gap",
            "2",
            "--smooth",
            "savgol",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "heading snout <- tailbase" in result.output and "2 below confidence" not in result.output
    cleaned = SkeletonStore(tmp_path / "out.h5")
    assert not np.isnan(cleaned[0].keypoints).any()  # the two frames were filled back on the line
    np.testing.assert_allclose(cleaned[0].keypoints[20:22, 0, 1, 0], [140, 142], rtol=1e-5)
    assert cleaned.provenance[-1]["step"] == "rodent-kinematics-clean"
    table = pd.read_csv(tmp_path / "out_kinematics.csv")
    np.testing.assert_allclose(table["speed"], 50, rtol=1e-4)  # 2 px/frame at 25 fps
    np.testing.assert_allclose(table["heading"], 0, atol=1e-6)
    assert (tmp_path / "out.png").stat().st_size > 10_000
    assert pd.read_csv(tmp_path / "out_summary.csv")["path_length"].iloc[0] == pytest.approx(98, rel=1e-4)


def test_command_names_the_missing_option_and_leaves_nothing(tmp_path):
    store = _store(tmp_path / "in.h5")
    result = CliRunner().invoke(main, ["rodent", "kinematics", str(store), "-o", str(tmp_path / "out")])
    assert result.exit_code == 2 and "--fps" in result.output
    result = CliRunner().invoke(
        main, ["rodent", "kinematics", str(store), "-o", str(tmp_path / "out"), "--fps", "25", "--head", "nose"]
    )
    assert result.exit_code == 2 and "--head 'nose'" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.h5"]


@pytest.mark.parametrize("relative, fps", [(BSOID, 60), (VAME, 25)])
def test_real_dlc_files(tmp_path, relative, fps):
    source = real_file(relative)
    result = CliRunner().invoke(
        main,
        [
            "rodent",
            "kinematics",
            str(source),
            "--format",
            "dlc",
            "-o",
            str(tmp_path / "k"),
            "--fps",
            str(fps),
            "--min-confidence",
            "0.6",
            "--max-gap",
            "5",
            "--table-format",
            "hdf5",
        ],
    )
    assert result.exit_code == 0, result.output
    table = pd.read_hdf(tmp_path / "k_kinematics.h5", "kinematics")
    raw = pd.read_hdf(source) if source.suffix == ".h5" else pd.read_csv(source, header=[0, 1, 2], index_col=0)
    assert len(table) == len(raw)
    totals = pd.read_hdf(tmp_path / "k_kinematics.h5", "summary").iloc[0]
    assert totals["duration_s"] == pytest.approx(len(raw) / fps)
    assert totals["moving_s"] + totals["still_s"] + totals["unknown_s"] == pytest.approx(totals["duration_s"])
    # the path is the sum of the frame-to-frame steps of the cleaned body centre
    steps = np.hypot(*np.diff(table[["x", "y"]].to_numpy(), axis=0).T)
    assert totals["path_length"] == pytest.approx(np.nansum(steps), rel=1e-6)
    assert table["heading"].notna().mean() > 0.8  # snout/nose and a tail-base joint were found by name


def test_real_flies_centre_moves_like_the_thorax_when_legs_come_and_go(tmp_path):
    """The 2-fly SLEAP clip: the old centre (mean of the joints present) sped up wherever a leg point dropped in or
    out; the default centre's speed stays close to the thorax's there, as it does elsewhere."""
    source = real_file(FLIES)
    result = CliRunner().invoke(
        main, ["rodent", "kinematics", str(source), "--format", "sleap", "-o", str(tmp_path / "k")]
    )
    assert result.exit_code == 0, result.output
    table = pd.read_csv(tmp_path / "k_kinematics.csv")
    cleaned = SkeletonStore(tmp_path / "k.h5")
    fps, thorax = cleaned[0].fps, cleaned.layout.index("thorax")
    for fly in (0, 1):  # the two whole-clip tracks; the other slots hold fragments
        joints = cleaned[0].keypoints[:, fly, :, :2]
        present = ~np.isnan(joints).any(axis=-1)
        changed = np.concatenate(([False], (present[1:] != present[:-1]).any(axis=1)))
        assert 100 < changed.sum() < len(changed) - 100
        new = table[table["individual"] == fly]["speed"].to_numpy()
        reference = track_kinematics(joints[:, thorax], fps)["speed"].to_numpy()
        old = track_kinematics(np.nanmean(joints, axis=1), fps)["speed"].to_numpy()
        old_error, new_error = np.abs(old - reference), np.abs(new - reference)
        assert np.nanmedian(new_error[changed]) < 0.5 * np.nanmedian(old_error[changed])
        assert np.nanmedian(new_error[changed]) < 2.5 * np.nanmedian(new_error[~changed])
        top = {name: np.nanpercentile(speed, 99) for name, speed in (("new", new), ("old", old), ("thorax", reference))}
        assert abs(top["new"] / top["thorax"] - 1) < 0.1 < top["old"] / top["thorax"] - 1


def test_tables_name_the_animals_as_the_sleap_file_does(tmp_path):
    from tests.importers.test_sleap import female_and_male

    flies = female_and_male(tmp_path / "flies.slp")
    result = CliRunner().invoke(
        main, ["rodent", "kinematics", str(flies), "--format", "sleap", "-o", str(tmp_path / "k"), "--fps", "15"]
    )
    assert result.exit_code == 0, result.output
    assert pd.read_csv(tmp_path / "k_summary.csv")["track"].tolist() == ["female", "male"]


def test_a_file_with_no_usable_joint_writes_nothing(tmp_path):
    store = _store(tmp_path / "in.h5", fps=25)
    result = CliRunner().invoke(
        main, ["rodent", "kinematics", str(store), "-o", str(tmp_path / "out"), "--min-confidence", "1.5"]
    )  # every joint scores below 1.5
    assert result.exit_code == 2 and "no animal has a body centre" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.h5"]


def test_a_hostile_dlc_h5_is_refused_without_running_its_code(tmp_path):
    marker = tmp_path / "ran"
    evil = hostile_dlc_h5(tmp_path / "evil.h5", marker)
    result = CliRunner().invoke(
        main, ["rodent", "kinematics", str(evil), "--format", "dlc", "--fps", "30", "-o", str(tmp_path / "out")]
    )
    assert_one_line_error(result)
    assert "evil.h5: object column" in result.output
    assert not marker.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["evil.h5"]


def test_a_one_row_dlc_csv_gives_a_track_without_speed(tmp_path):
    source = tmp_path / "one.csv"
    dlc_frame(rows=1).to_csv(source)  # snout (0, 1) and tailbase (3, 4), likelihoods 2 and 5
    result = CliRunner().invoke(
        main, ["rodent", "kinematics", str(source), "--format", "dlc", "--fps", "30", "-o", str(tmp_path / "k")]
    )
    assert result.exit_code == 0, result.output
    assert "no speed (no two successive frames with a position)" in result.output and "nan" not in result.output
    table = pd.read_csv(tmp_path / "k_kinematics.csv")
    assert len(table) == 1 and table[["x", "y"]].iloc[0].tolist() == [1.5, 2.5] and table["speed"].isna().all()
    totals = pd.read_csv(tmp_path / "k_summary.csv").iloc[0]
    assert totals["path_length"] == 0 and totals["unknown_s"] == pytest.approx(1 / 30)
    assert (tmp_path / "k.png").stat().st_size > 0
    every_point_doubtful = CliRunner().invoke(
        main,
        [
            "rodent",
            "kinematics",
            str(source),
            "--format",
            "dlc",
            "--fps",
            "30",
            "--min-confidence",
            "6",
            "-o",
            str(tmp_path / "d"),
        ],
    )
    assert_one_line_error(every_point_doubtful)
    assert "no animal has a body centre" in every_point_doubtful.output
