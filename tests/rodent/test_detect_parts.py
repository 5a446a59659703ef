"""The pieces of posekit rodent detect against hand-computed values: targets, decoding, tracking, heading."""

import numpy as np
import torch

from posekit.rodent.detection.blobs import Blob, blob_of
from posekit.rodent.detection.frames import Letterbox
from posekit.rodent.detection.heading import orient
from posekit.rodent.detection.heatmaps import decode
from posekit.rodent.detection.track import track
from posekit.rodent.detection.training import targets


def blob(x, y, score=0.9, side=8.0):
    return Blob(
        np.array([x, y], np.float32),
        np.array([x - side / 2, y - side / 2, x + side / 2, y + side / 2], np.float32),
        np.array([1.0, 0.0], np.float32),
        side,
        score=score,
    )


def test_targets_put_the_peak_and_size_at_the_centre_cell():
    # Centre (10, 14) in a 32-pixel square; stride 4: cell x = 10.5 / 4 - 0.5 = 2.125 -> 2, y = 14.5 / 4 - 0.5 -> 3.
    mask = np.zeros((32, 32), bool)
    mask[10:18, 6:14] = True
    t = targets(np.array([[10.0, 14.0]]), np.array([[6.0, 10.0, 14.0, 18.0]]), mask, True, 32)
    assert t["heat"].shape == (8, 8) and t["heat"][3, 2] == 1 and (t["heat"] <= 1).all()
    assert np.unravel_index(int(t["heat"].argmax()), (8, 8)) == (3, 2)
    np.testing.assert_allclose(t["size"][:, 3, 2], [np.log(2.0), np.log(2.0)])  # 8 pixels = 2 cells
    assert t["size_weight"].sum() == 1 and t["fg_weight"] == 1
    assert t["fg"][3, 2] == 1 and t["fg"][2, 1] == 0.25 and t["fg"][0, 0] == 0  # cell (2,1) holds 2x2 of 4x4


def test_decode_reads_peak_centre_and_box_back():
    output = torch.full((1, 4, 8, 8), -10.0)
    output[0, 0, 3, 2] = 5.0  # one peak at cell (x 2, y 3) -> centre (2 + 0.5) * 4 - 0.5 = 9.5, (3 + 0.5) * 4 - 0.5
    output[0, 1:3, 3, 2] = torch.log(torch.tensor([3.0, 2.0]))  # 12 x 8 pixels
    output[0, 3, 3, 1:4] = 10.0  # foreground along x: the body axis is horizontal
    (found,) = decode(output, threshold=0.5)
    assert len(found) == 1
    np.testing.assert_allclose(found[0].centre, [9.5, 13.5], atol=1e-4)
    np.testing.assert_allclose(found[0].box, [3.5, 9.5, 15.5, 17.5], atol=1e-4)
    assert abs(found[0].axis[0]) > 0.95
    assert decode(output, threshold=0.999) == [[]]


def test_blob_geometry():
    mask = np.zeros((20, 20), bool)
    mask[5:7, 2:12] = True  # 10 x 2 pixels, horizontal
    b = blob_of(mask)
    np.testing.assert_allclose(b.centre, [6.5, 5.5])
    np.testing.assert_allclose(b.box, [1.5, 4.5, 11.5, 6.5])
    assert abs(b.axis[0]) > 0.99
    # 20 pixels, x = 2..11 twice: sum of squared deviations 2 * 82.5, sample variance 165 / 19; 4 sigmas.
    assert abs(b.length - 4 * np.sqrt(165 / 19)) < 1e-4


def test_letterbox_maps_pixel_centres_back():
    box = Letterbox(640, 480, 160)  # scale 1/4
    np.testing.assert_allclose(box.to_source([[0.0, 0.0], [159.0, 119.0]]), [[1.5, 1.5], [637.5, 477.5]])
    assert box.fit(np.zeros((480, 640), np.uint8)).shape == (160, 160)


def test_tracker_follows_the_trajectory_not_the_strongest_distractor():
    frames = [[blob(10, 10)], [blob(50, 50, 0.95), blob(12, 10, 0.6)], [], [blob(15, 10, 0.7)]]
    slots = track(frames, max_animals=1, length=8.0, max_gap=5)
    assert [s[0] is not None for s in slots] == [True, True, False, True]
    assert slots[1][0].centre[0] == 12 and slots[3][0].centre[0] == 15


def test_tracker_keeps_two_animals_apart_and_ids_stable():
    frames = [[blob(10, 10), blob(60, 60)], [blob(62, 61), blob(11, 10)], [blob(13, 10), blob(64, 62)]]
    slots = track(frames, max_animals=2, length=8.0, max_gap=5)
    first = [s.centre[0] < 30 for s in slots[0]]
    for row in slots:
        assert [s.centre[0] < 30 for s in row] == first


def test_heading_follows_motion_then_continuity_when_still():
    t = np.arange(20, dtype=np.float32)
    centres = np.stack([np.minimum(t, 10) * 3.0, np.zeros(20, np.float32)], 1)  # walks +x, still from frame 10
    axes = np.tile([[-1.0, 0.0]], (20, 1)).astype(np.float32)
    axes[::2] *= -1  # the axis sign from the mask is arbitrary frame to frame
    centres[15] = np.nan
    out = orient(centres, axes, length=10.0, fps=30.0)
    assert np.isnan(out[15]).all()
    np.testing.assert_allclose(np.delete(out, 15, axis=0), np.tile([[1.0, 0.0]], (19, 1)))


def test_motion_labels_two_moving_animals_when_asked():
    import cv2

    from posekit.rodent.detection.motion import flow_magnitude, motion_labels

    rng = np.random.default_rng(1)
    floor = cv2.GaussianBlur((170 + rng.normal(0, 6, (96, 96))).clip(0, 255).astype(np.uint8), (5, 5), 0)
    fur = rng.integers(20, 70, (96, 96)).astype(np.uint8)  # texture: flow inside a uniform blob is ~0
    frames = []
    # One animal walks right along y = 25, the other left along y = 70, fast enough that the median
    # background is empty floor (each pixel is covered in at most 5 of 18 frames).
    for t in range(18):
        frame = floor.copy()
        for x, y in ((10 + 4 * t, 25), (86 - 4 * t, 70)):
            body = np.zeros((96, 96), np.uint8)
            cv2.ellipse(body, (x, y), (10, 5), 0, 0, 360, 1, -1)
            frame[body > 0] = np.roll(fur, (y, x), (0, 1))[body > 0]  # the texture moves with the animal
        frames.append(frame)
    speeds = [np.zeros((96, 96), np.float32)] + [flow_magnitude(a, b) for a, b in zip(frames, frames[1:])]
    labels = motion_labels(np.stack(frames), np.stack(speeds), max_animals=2)
    for t in range(1, 18):
        assert len(labels[t]) == 2
        centres = sorted((tuple(b.centre) for b in labels[t]), key=lambda c: c[1])
        np.testing.assert_allclose(centres, [(10 + 4 * t, 25), (86 - 4 * t, 70)], atol=1.0)
    assert len(motion_labels(np.stack(frames), np.stack(speeds))[5]) == 1  # one animal by default
