"""Pseudo-label files of a refined store: the COCO export read back, frame-exact frames from a synthetic video,
and nothing left behind on failure."""

import json

import cv2
import numpy as np
import pytest

from pose_refine.pseudo_labels import pseudo_box
from posekit.errors import InputError
from posekit.refine.pseudo_labels import export_coco, read_video_frames
from posekit.store import Clip, StoreWriter

NAN = np.nan
LAYOUT = "penn-13"


def write_video(path, n_frames, size=(64, 48)):
    """An MJPG video whose frame i is uniformly grey level 10 + 20 i."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 25, size)
    for i in range(n_frames):
        writer.write(np.full((size[1], size[0], 3), 10 + 20 * i, np.uint8))
    writer.release()


def test_video_frames_are_read_frame_exactly(tmp_path):
    write_video(tmp_path / "v.avi", 10)
    frames = dict(read_video_frames(tmp_path / "v.avi", [7, 2, 3]))
    assert sorted(frames) == [2, 3, 7]
    for index, image in frames.items():
        assert abs(image.mean() - (10 + 20 * index)) < 3
    with pytest.raises(InputError, match="ends before frame 12"):
        list(read_video_frames(tmp_path / "v.avi", [12]))


def refined_store(tmp_path, video, n_frames=10):
    """One clip, 2 tracks: track 0 stands (kept where C >= 0.18), track 1 lies and has low confidence at odd frames."""
    rng = np.random.default_rng(1)
    standing = np.linspace([30.0, 4.0], [32.0, 44.0], 13)
    lying = np.linspace([4.0, 30.0], [60.0, 32.0], 13)
    keypoints = np.stack(
        [standing + rng.normal(0, 0.5, (n_frames, 13, 2)), lying + rng.normal(0, 0.5, (n_frames, 13, 2))], axis=1
    )
    keypoints[4, 1, 5] = NAN  # one missing joint
    confidence = np.stack([np.full(n_frames, 0.9), np.where(np.arange(n_frames) % 2, 0.1, 0.5)], axis=1)
    clip = Clip(
        id="clip-a",
        keypoints=keypoints,
        scores=np.repeat(confidence[..., None], 13, axis=-1),
        track_id=np.array([[3, 7]] * n_frames),
        frame_index=np.arange(n_frames) + 2,
        image_size=(64, 48),
        source=str(video),
    )
    path = tmp_path / "refined.h5"
    with StoreWriter(path, layout=LAYOUT, coord_dims=2) as writer:
        writer.add(clip)
    return path, keypoints, confidence


def test_coco_export_round_trip(tmp_path):
    write_video(tmp_path / "v.avi", 12)
    store, keypoints, confidence = refined_store(tmp_path, tmp_path / "v.avi")
    summary = export_coco(store, tmp_path / "labels", gamma=0.18, anchors=2)
    coco = json.loads((tmp_path / "labels" / "pseudo_labels.json").read_text())
    kept = [(t, m) for t in range(10) for m in range(2) if confidence[t, m] >= 0.18]
    assert summary["annotations"] == len(coco["annotations"]) == len(kept) == 15
    assert summary["images"] == len(coco["images"]) == 10
    images = {image["id"]: image for image in coco["images"]}
    assert coco["categories"][0]["keypoints"][0] == "head" and len(coco["categories"][0]["keypoints"]) == 13
    assert np.array(coco["anchors"]).shape == (2, 13, 2)
    for annotation, (t, m) in zip(coco["annotations"], kept):
        image = images[annotation["image_id"]]
        assert image["frame_index"] == t + 2 and image["clip_id"] == "clip-a"
        points = np.array(annotation["keypoints"]).reshape(13, 3)
        present = ~np.isnan(keypoints[t, m]).any(axis=1)
        np.testing.assert_allclose(points[present, :2], keypoints[t, m][present], atol=1e-3)
        assert (points[:, 2] == np.where(present, 2, 0)).all() and annotation["num_keypoints"] == present.sum()
        x1, y1, x2, y2 = pseudo_box(keypoints[t, m], image_size=(64, 48))
        np.testing.assert_allclose(annotation["bbox"], [x1, y1, x2 - x1, y2 - y1], rtol=1e-6)
        assert annotation["track_id"] == (3, 7)[m] and annotation["confidence"] == pytest.approx(confidence[t, m])
        # the frame written is the video's frame with that index (grey level 10 + 20 i)
        written = cv2.imread(str(tmp_path / "labels" / image["file_name"]))
        assert written.shape == (48, 64, 3) and abs(written.mean() - (10 + 20 * (t + 2))) < 3
    # standing and lying get different anchor classes, each track one class throughout
    classes = {m: {a["anchor_class"] for a, (t, mm) in zip(coco["annotations"], kept) if mm == m} for m in (0, 1)}
    assert len(classes[0]) == len(classes[1]) == 1 and classes[0] != classes[1]


def test_failed_export_leaves_nothing(tmp_path):
    write_video(tmp_path / "v.avi", 5)  # shorter than the frames the store refers to
    store, _, _ = refined_store(tmp_path, tmp_path / "v.avi")
    with pytest.raises(InputError, match="ends before frame"):
        export_coco(store, tmp_path / "labels", anchors=2)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["refined.h5", "v.avi"]
