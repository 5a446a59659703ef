"""posekit.video.VideoReader on small videos written here: facts, frame order and colour, chosen frames equal to
sequential reading (on an inter-frame codec, where a seek would not be exact), stills and one-line errors."""

import re

import cv2
import numpy as np
import pytest

from posekit.errors import InputError
from posekit.video import VideoReader

FRAMES, WIDTH, HEIGHT, FPS = 30, 48, 32, 12.0


def write_video(path, fourcc: str) -> None:
    """Frame k: blue channel 8k, green 60, red 200, with a square moving 1 px per frame (so frames differ)."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), FPS, (WIDTH, HEIGHT))
    assert writer.isOpened()
    for k in range(FRAMES):
        frame = np.empty((HEIGHT, WIDTH, 3), np.uint8)
        frame[:] = (8 * k, 60, 200)
        frame[4:12, k : k + 8] = 255
        writer.write(frame)
    writer.release()


@pytest.fixture(scope="module")
def lossless(tmp_path_factory):
    path = tmp_path_factory.mktemp("video") / "lossless.avi"
    write_video(path, "FFV1")
    return path


@pytest.fixture(scope="module")
def inter_frame(tmp_path_factory):
    path = tmp_path_factory.mktemp("video") / "mp4v.mp4"
    write_video(path, "mp4v")
    return path


def test_facts_and_every_frame_in_order_in_bgr(lossless):
    with VideoReader(lossless) as reader:
        assert (reader.frame_count, reader.fps, reader.image_size) == (FRAMES, FPS, (WIDTH, HEIGHT))
        frames = list(reader.frames())
    assert [index for index, _ in frames] == list(range(FRAMES))
    for k, frame in frames:
        assert frame.shape == (HEIGHT, WIDTH, 3) and frame.dtype == np.uint8
        assert frame[-1, -1].tolist() == [8 * k, 60, 200]  # blue first: OpenCV's order


def test_chosen_frames_and_every_kth_equal_sequential_reading(inter_frame):
    with VideoReader(inter_frame) as reader:
        sequential = dict(reader.frames())
        assert len(sequential) == FRAMES
        chosen = list(reader.read([17, 3, 3, 29, 0, FRAMES + 5]))  # out of order, repeated, past the end
        strided = list(reader.frames(start=4, step=5))
    assert [index for index, _ in chosen] == [0, 3, 17, 29]
    assert [index for index, _ in strided] == [4, 9, 14, 19, 24, 29]
    for index, frame in chosen + strided:
        np.testing.assert_array_equal(frame, sequential[index])


def test_a_still_image_is_a_one_frame_video(tmp_path):
    image = np.random.default_rng(0).integers(0, 256, (HEIGHT, WIDTH, 3), dtype=np.uint8)
    path = tmp_path / "still.png"
    assert cv2.imwrite(str(path), image)
    with VideoReader(path) as reader:
        assert reader.frame_count == 1 and reader.image_size == (WIDTH, HEIGHT)
        ((index, frame),) = reader.frames()
    assert index == 0
    np.testing.assert_array_equal(frame, image)


def test_missing_and_corrupt_files_are_one_line_errors_naming_the_file(tmp_path):
    missing = tmp_path / "missing.mp4"
    with pytest.raises(InputError, match=f"^{re.escape(str(missing))}: no such video file$"):
        VideoReader(missing)
    corrupt = tmp_path / "corrupt.mp4"
    corrupt.write_bytes(b"not a video at all" * 64)
    with pytest.raises(InputError, match=re.escape(f"{corrupt}: not a readable video (OpenCV cannot open it)") + "$"):
        VideoReader(corrupt)


def test_bad_requests_are_refused(lossless):
    with VideoReader(lossless) as reader:
        with pytest.raises(ValueError, match="step >= 1"):
            reader.frames(step=0)
        with pytest.raises(ValueError, match="start at 0"):
            reader.read([-1, 2])
