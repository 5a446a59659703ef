"""The extraction side of videos: frame batches as the experts take them."""

import cv2
import numpy as np
import pytest

from posekit.errors import InputError
from posekit.extract.video import frame_batches
from posekit.video import VideoReader


def test_frame_batches_cover_every_frame_in_order(tmp_path):
    path = tmp_path / "v.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (16, 16))
    for k in range(10):
        writer.write(np.full((16, 16, 3), 20 * k, np.uint8))
    writer.release()
    with VideoReader(path) as reader:
        batches = list(frame_batches(reader, 4))
    assert [indices.tolist() for indices, _ in batches] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert [len(frames) for _, frames in batches] == [4, 4, 2]


def test_a_video_without_a_decodable_frame_is_a_one_line_error(tmp_path):
    path = tmp_path / "empty.avi"
    cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (16, 16)).release()  # a container, no frame
    with VideoReader(path) as reader:
        with pytest.raises(InputError, match=f"{path.name}: no frame could be decoded"):
            list(frame_batches(reader, 4))
