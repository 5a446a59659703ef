"""blazepose-multi: the person box drawn from a face box, duplicate suppression, and two persons found in a real
two-person video (skipped without ../shared/data)."""

import numpy as np
import pytest

from posekit.extract.experts import build_expert, parse_experts
from posekit.extract.experts.base import FramePoses
from posekit.extract.experts.blazepose_multi import distinct_persons, face_tiles, person_box
from posekit.extract.video import Video, frame_batches
from posekit.video import VideoReader
from tests.conftest import real_file


def test_person_box_extends_the_face_by_body_proportions_and_is_clipped():
    face = np.array([90, 40, 110, 60])  # centre (100, 50), 20 px high
    # 1.5 face heights above the centre, 9 below, 3.5 to each side
    assert person_box(face, (1000, 1000)) == pytest.approx([30, 20, 170, 230])
    assert person_box(face, (150, 200)) == pytest.approx([30, 20, 150, 200])  # clipped to the image
    assert person_box(np.array([0, 0, 20, 20]), (1000, 1000)) == pytest.approx([0, 0, 80, 190])


def test_face_tiles_are_squares_covering_a_wide_frame_with_overlap():
    tiles = face_tiles((1920, 1080))
    assert [t[2] for t in tiles] == [1080] * 3 and [t[1] for t in tiles] == [0] * 3
    assert [t[0] for t in tiles] == [0, 420, 840]  # last tile ends at the right edge, overlaps >= 25%
    assert face_tiles((340, 256)) == [(0, 0, 256), (84, 0, 256)]


def _pose(x0, y0, size):
    """A 3-joint stick figure, head at (x0, y0), ``size`` tall."""
    return np.array([[x0, y0], [x0, y0 + size / 2], [x0, y0 + size]], np.float32)


def test_duplicates_are_dropped_but_overlapping_persons_kept():
    big, same_body, hugging, far = _pose(100, 0, 200), _pose(103, 2, 198), _pose(150, 0, 200), _pose(500, 0, 100)
    keypoints = np.stack([same_body, big, hugging, far])
    poses = FramePoses(keypoints, np.ones((4, 3), np.float32)).with_boxes()
    # same_body lies ~3 px (0.015 of the diagonal) from big: a duplicate; hugging is 50 px (0.25) away: a person
    assert distinct_persons(poses, max_persons=4).tolist() == [1, 2, 3]  # largest first: big wins same_body
    assert distinct_persons(poses, max_persons=2).tolist() == [1, 2]


def test_blazepose_multi_finds_both_persons_of_a_real_two_person_video():
    path = real_file("human_video/mmaction2/demo/demo_skeleton.mp4")  # 1920x1080, two men standing apart
    expert = build_expert(parse_experts("blazepose-multi")[0])
    try:
        with VideoReader(path) as reader:
            expert.start(Video("demo_skeleton", path), reader.image_size)
            frames = next(frame_batches(reader, 10))[1]
        found = expert.predict(frames, np.arange(10))
    finally:
        expert.close()
    counts = [len(p) for p in found]
    assert sum(c == 2 for c in counts) >= 8
    for poses in found:
        if len(poses) == 2:
            centres = np.sort(np.nanmean(poses.keypoints[..., 0], axis=1))
            assert centres[1] - centres[0] > 100  # two bodies, not one body twice
