"""posekit rodent detect on a synthetic arena video: a textured ellipse walks a circle, stands still, leaves;
one frame flickers. Motion finds it while it moves, the bootstrapped FCN also while it stands still."""

import cv2
import numpy as np
import pytest
import torch
from click.testing import CliRunner

from posekit.cli import main
from posekit.rodent.detection.detect import detector_path, sample
from posekit.rodent.detection.frames import open_source
from posekit.rodent.detection.motion import motion_labels
from posekit.store import SkeletonStore
from tests.conftest import real_file

SIZE, MOVING, STILL, EMPTY, FLICKER = 96, 30, 24, 10, 20


def arena_video(path, animal=True):
    """Frames 0-29 walking a circle (counter-clockwise on screen), 30-53 still, 54-63 empty; frame 20 darker.
    Returns the true centre per frame (None when the arena is empty)."""
    rng = np.random.default_rng(0)
    floor = cv2.GaussianBlur((170 + rng.normal(0, 6, (SIZE, SIZE))).clip(0, 255).astype(np.uint8), (5, 5), 0)
    texture = rng.integers(20, 70, (SIZE, SIZE)).astype(np.uint8)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 30, (SIZE, SIZE))
    truth = []
    for t in range(MOVING + STILL + EMPTY):
        frame = floor.copy()
        centre = None
        if animal and t < MOVING + STILL:
            angle = 2 * np.pi * min(t, MOVING - 1) / MOVING
            centre = (SIZE / 2 + 0.28 * SIZE * np.cos(angle), SIZE / 2 + 0.28 * SIZE * np.sin(angle))
            body = np.zeros((SIZE, SIZE), np.uint8)
            cv2.ellipse(
                body,
                (round(centre[0]), round(centre[1])),
                (SIZE // 9, SIZE // 18),
                np.degrees(angle) + 90,
                0,
                360,
                1,
                -1,
            )
            frame[body > 0] = texture[body > 0]
            centre = np.round(centre)  # the ellipse is drawn at whole pixels
        if t == FLICKER:
            frame = (frame * 0.6).astype(np.uint8)
        writer.write(cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR))
        truth.append(centre)
    writer.release()
    return truth


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def last_line(output: str) -> str:
    """The last line the user sees: progress bars redraw with carriage returns before it."""
    return output.strip().splitlines()[-1].split("\r")[-1]


@pytest.fixture(scope="module")
def tracked(tmp_path_factory):
    """One training run shared by the tests: FCN_0 + 1 bootstrapping round, tiny."""
    torch.set_num_threads(1)
    folder = tmp_path_factory.mktemp("arena")
    video = folder / "arena.avi"
    truth = arena_video(video)
    result = invoke("rodent", "detect", video, "-o", folder / "tracks.h5", "--size", SIZE, "--iters", 50, "--rounds", 1)
    assert result.exit_code == 0, result.output
    return folder, video, truth, result.output


def test_motion_labels_the_moving_animal_only(tmp_path):
    video = tmp_path / "arena.avi"
    truth = arena_video(video)
    frames, speeds = sample(open_source(video), SIZE, 1000)
    labels = motion_labels(frames, speeds)
    for t in range(1, MOVING):
        if t == FLICKER:  # brightness normalisation keeps the darker frame from becoming all foreground
            assert len(labels[t]) <= 1
        if labels[t]:
            assert np.linalg.norm(labels[t][0].centre - truth[t]) < 1.5
    assert sum(1 for t in range(1, MOVING) if labels[t]) >= MOVING - 4
    assert not any(labels[t] for t in range(MOVING + 1, len(truth)))  # still or absent: motion says nothing


def test_store_has_tracked_still_animal_and_empty_stretch(tracked):
    folder, video, truth, output = tracked
    assert f"-> {folder / 'tracks.h5'}" in output and detector_path(folder / "tracks.h5").is_file()
    store = SkeletonStore(folder / "tracks.h5")
    clip = store[0]
    assert store.layout.joints == ("centre", "head", "tail_base")
    assert clip.num_frames == len(truth) and list(clip.frame_index) == list(range(len(truth)))
    assert clip.fps == pytest.approx(30) and tuple(clip.image_size) == (SIZE, SIZE) and clip.source == str(video)
    step = store.provenance[-1]
    assert step["step"] == "rodent-detect" and step["rounds"] == 1
    present = np.array([c is not None for c in truth])
    found = clip.track_id[:, 0] >= 0
    assert not found[~present].any()  # empty arena: no detection at all
    assert found[MOVING : MOVING + STILL].all()  # standing still: the appearance model keeps it
    assert found[present].mean() >= 0.9
    error = np.array([np.linalg.norm(clip.keypoints[t, 0, 0] - truth[t]) for t in np.flatnonzero(found)])
    assert np.median(error) < 2.0 and error.max() < 5.0
    still = np.arange(MOVING, MOVING + STILL)
    assert max(np.linalg.norm(clip.keypoints[t, 0, 0] - truth[t]) for t in still) < 3.0
    boxes = clip.box[found, 0]
    centres = clip.keypoints[found, 0, 0]
    assert (
        (boxes[:, 0] < centres[:, 0])
        & (centres[:, 0] < boxes[:, 2])
        & (boxes[:, 1] < centres[:, 1])
        & (centres[:, 1] < boxes[:, 3])
    ).all()
    assert set(np.unique(clip.track_id)) == {-1, 0}
    assert (clip.scores[found, 0] >= 0.3).all()


def test_heading_points_where_the_animal_walks(tracked):
    folder, _, truth, _ = tracked
    clip = SkeletonStore(folder / "tracks.h5")[0]
    agree = []
    for t in range(3, MOVING - 3):
        velocity = np.asarray(truth[t + 1]) - np.asarray(truth[t - 1])
        heading = clip.keypoints[t, 0, 1] - clip.keypoints[t, 0, 0]
        tail = clip.keypoints[t, 0, 2] - clip.keypoints[t, 0, 0]
        agree.append(heading @ velocity > 0)
        np.testing.assert_allclose(heading, -tail, atol=1e-3)  # head and tail base: the two ends of one axis
    assert np.mean(agree) >= 0.9


def test_saved_detector_runs_on_a_folder_of_stills(tracked, tmp_path):
    folder, video, truth, _ = tracked
    stills = tmp_path / "stills"
    stills.mkdir()
    capture = cv2.VideoCapture(str(video))
    for t in range(MOVING + STILL):
        ok, frame = capture.read()
        if t >= MOVING - 6:  # the last steps and the still stretch, as separate images
            cv2.imwrite(str(stills / f"img_{t:03d}.png"), frame)
    capture.release()
    result = invoke(
        "rodent", "detect", "--model", detector_path(folder / "tracks.h5"), stills, "-o", tmp_path / "stills.h5"
    )
    assert result.exit_code == 0, result.output
    clip = SkeletonStore(tmp_path / "stills.h5")[0]
    assert clip.id == "stills" and clip.num_frames == STILL + 6
    assert (clip.track_id[:, 0] == 0).all()
    error = np.linalg.norm(clip.keypoints[:, 0, 0] - np.array(truth[MOVING - 6 : MOVING + STILL]), axis=1)
    assert error.max() < 3.0


def test_a_folder_of_videos_gives_one_clip_per_video(tracked, tmp_path):
    folder, video = tracked[:2]
    videos = tmp_path / "videos"
    (videos / "day2").mkdir(parents=True)
    arena_video(videos / "day1.avi")
    arena_video(videos / "day2" / "empty.avi", animal=False)  # found recursively
    result = invoke(
        "rodent", "detect", "--model", detector_path(folder / "tracks.h5"), videos, "-o", tmp_path / "days.h5"
    )
    assert result.exit_code == 0, result.output
    store = SkeletonStore(tmp_path / "days.h5")
    assert sorted(store.ids) == ["day1", "empty"]
    assert f"{videos / 'day2' / 'empty.avi'}: animal found in 0 of 64 frames" in result.output
    assert (store[store.index_of("day1")].track_id[:MOVING, 0] == 0).mean() > 0.9
    (tmp_path / "nothing").mkdir()
    result = invoke(
        "rodent",
        "detect",
        "--model",
        detector_path(folder / "tracks.h5"),
        tmp_path / "nothing",
        "-o",
        tmp_path / "none.h5",
    )
    assert result.exit_code == 2 and "holds no images" in last_line(result.output)


def test_empty_arena_gives_no_detections(tracked, tmp_path):
    folder = tracked[0]
    arena_video(tmp_path / "empty.avi", animal=False)
    result = invoke(
        "rodent",
        "detect",
        "--model",
        detector_path(folder / "tracks.h5"),
        tmp_path / "empty.avi",
        "-o",
        tmp_path / "empty.h5",
    )
    assert result.exit_code == 0, result.output
    assert "found in 0 of 64 frames" in result.output
    clip = SkeletonStore(tmp_path / "empty.h5")[0]
    assert (clip.track_id == -1).all() and np.isnan(clip.keypoints).all()


def test_nothing_moving_to_learn_from_is_one_line_error(tmp_path):
    arena_video(tmp_path / "empty.avi", animal=False)
    result = invoke("rodent", "detect", tmp_path / "empty.avi", "-o", tmp_path / "out.h5")
    assert result.exit_code == 2
    assert last_line(result.output).startswith("posekit: error: ") and "no moving animal" in result.output
    assert not (tmp_path / "out.h5").exists() and not list(tmp_path.glob("*.pth"))


def test_unreadable_video_is_one_line_error(tmp_path):
    bad = tmp_path / "broken.mp4"
    bad.write_text("not a video")
    result = invoke("rodent", "detect", bad, "-o", tmp_path / "out.h5")
    assert result.exit_code == 2
    assert last_line(result.output) == f"posekit: error: {bad}: not a readable video (OpenCV cannot open it)"
    assert not (tmp_path / "out.h5").exists()


@pytest.mark.skipif(torch.cuda.is_available(), reason="a GPU is present")
def test_cuda_without_a_gpu_is_one_line_error(tmp_path):
    arena_video(tmp_path / "a.avi")
    result = invoke("rodent", "detect", tmp_path / "a.avi", "-o", tmp_path / "o.h5", "--device", "cuda")
    assert result.exit_code == 2 and last_line(result.output) == "posekit: error: --device cuda: torch sees no CUDA GPU"


def test_not_a_detector_is_one_line_error(tmp_path):
    arena_video(tmp_path / "a.avi")
    (tmp_path / "fake.pth").write_bytes(b"junk")
    result = invoke("rodent", "detect", "--model", tmp_path / "fake.pth", tmp_path / "a.avi", "-o", tmp_path / "o.h5")
    assert result.exit_code == 2 and "not a posekit rodent detector" in result.output


def test_first_100_frames_of_a_real_open_field_video(tmp_path):
    """m3v1mp4.mp4 (DeepLabCut's open-field example, one mouse, top view): most frames have the mouse, inside."""
    torch.set_num_threads(1)
    source = real_file("animal/dlc_openfield/videos/m3v1mp4.mp4")
    capture = cv2.VideoCapture(str(source))
    clip_path = tmp_path / "m3v1_first100.avi"
    writer = cv2.VideoWriter(str(clip_path), cv2.VideoWriter_fourcc(*"MJPG"), 30, (640, 480))
    for _ in range(100):
        ok, frame = capture.read()
        writer.write(frame)
    capture.release()
    writer.release()
    result = invoke(
        "rodent", "detect", clip_path, "-o", tmp_path / "m3v1.h5", "--size", 128, "--iters", 40, "--rounds", 0
    )
    assert result.exit_code == 0, result.output
    clip = SkeletonStore(tmp_path / "m3v1.h5")[0]
    found = clip.track_id[:, 0] >= 0
    assert found.mean() >= 0.9
    centres = clip.keypoints[found, 0, 0]
    assert ((centres >= 0) & (centres < [640, 480])).all()
    step = np.linalg.norm(np.diff(centres, axis=0), axis=1)
    assert np.median(step) < 10  # a tracked mouse moves a few pixels per frame, not across the arena
