"""`posekit extract` on folders of images: numbered frames are one video read in numeric order, other images one
one-frame clip each; real COCO photos and numbered frames drawn here, with precomputed-pose experts (no model)."""

import json
import re
import shutil

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from posekit.cli import main
from posekit.errors import InputError
from posekit.extract import runner
from posekit.extract.runner import extract, part_path, work_folder
from posekit.extract.video import find_videos
from posekit.layouts import remap
from posekit.store import SkeletonStore
from posekit.store.validate import validate
from posekit.video import VideoReader, numbered_frames
from tests.conftest import real_file

from .synthetic import BONES, crossing

COCO_IMAGES = "human_images/mmpose_coco"


def touch(folder, names):
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        (folder / name).write_bytes(b"")
    return folder


@pytest.mark.parametrize(
    "names, numbers",
    [
        ([f"frame_{k:04d}.png" for k in range(1, 13)], list(range(1, 13))),
        ([f"frame_{k}.png" for k in range(1, 13)], list(range(1, 13))),  # unpadded: 2 before 10
        ([f"{k:06d}.jpg" for k in (0, 5, 10, 20, 25)], [0, 5, 10, 20, 25]),  # every 5th, one dropped
        ([f"cam2_{k:03d}_rgb.png" for k in (7, 8, 9)], [7, 8, 9]),  # the last number counts
    ],
)
def test_numbered_frames_in_numeric_order(tmp_path, names, numbers):
    frames = numbered_frames(touch(tmp_path / "f", reversed(names)))
    assert [n for n, _ in frames] == numbers and [p.name for _, p in frames] == names  # names listed in that order


@pytest.mark.parametrize(
    "names",
    [
        ["000000000785.jpg", "000000040083.jpg", "000000196141.jpg", "000000197388.jpg"],  # COCO ids, far apart
        ["frame_0001.png", "frame_0002.png", "thumbnail.png"],  # one image named otherwise
        ["left_0001.png", "right_0002.png"],  # two prefixes
        ["frame_1.png", "frame_01.png"],  # one number twice
        ["frame_0001.png"],  # one image
    ],
)
def test_other_images_are_not_numbered_frames(tmp_path, names):
    assert numbered_frames(touch(tmp_path / "f", names)) is None


def write_frames(folder, numbers, size=(48, 32)):
    """Frame n: a flat BGR image (n, 60, 200), named frame_<n>.png without padding."""
    folder.mkdir(parents=True)
    for n in numbers:
        assert cv2.imwrite(str(folder / f"frame_{n}.png"), np.full((size[1], size[0], 3), (n, 60, 200), np.uint8))
    return folder


def test_a_folder_of_numbered_frames_reads_as_a_video_indexed_by_the_numbers(tmp_path):
    numbers = [2, 4, 6, 8, 10, 12, 16, 18]  # 14 dropped
    folder = write_frames(tmp_path / "walk", numbers)
    with VideoReader(folder) as reader:
        assert reader.frame_count == 8 and np.isnan(reader.fps) and reader.image_size == (48, 32)
        frames = list(reader.frames())
        assert [n for n, _ in frames] == numbers
        assert all(frame[0, 0].tolist() == [n, 60, 200] for n, frame in frames)
        assert [n for n, _ in reader.read([16, 3, 2, 99])] == [2, 16]
        assert [n for n, _ in reader.frames(start=4, step=4)] == [4, 8, 12, 16]
    assert cv2.imwrite(str(folder / "frame_20.png"), np.zeros((10, 10, 3), np.uint8))
    with pytest.raises(InputError, match=rf"^{re.escape(str(folder / 'frame_20.png'))}: 10x10, where .* 48x32"):
        list(VideoReader(folder).frames())
    with pytest.raises(InputError, match="not a folder of numbered frames"):
        VideoReader(touch(tmp_path / "photos", ["a.jpg", "b.jpg"]))


def write_mmpose_frames(path, poses_by_frame: dict):
    """mmpose inferencer predictions: {frame number: (persons, 17, 2) keypoints, NaN = not found}."""
    items = []
    for frame, poses in poses_by_frame.items():
        instances = [
            {"keypoints": np.nan_to_num(p).tolist(), "keypoint_scores": np.where(np.isnan(p[:, 0]), 0, 0.9).tolist()}
            for p in poses
        ]
        items.append({"frame_id": int(frame), "instances": instances})
    path.write_text(json.dumps(items))


@pytest.fixture
def coco_photos(tmp_path):
    """The 4 real COCO val2017 photos in photos/, and their annotated persons as mmpose-json files in poses/."""
    source = real_file(COCO_IMAGES)
    photos, poses = tmp_path / "photos", tmp_path / "poses"
    photos.mkdir()
    poses.mkdir(exist_ok=True)
    annotations = json.loads((source / "test_coco.json").read_text())
    persons = {}
    for image in annotations["images"]:
        shutil.copy(source / image["file_name"], photos)
        keypoints = [
            np.asarray(a["keypoints"], np.float32).reshape(17, 3)
            for a in annotations["annotations"]
            if a["image_id"] == image["id"] and a["num_keypoints"] > 0
        ]
        xy = np.stack([np.where(k[:, 2:] > 0, k[:, :2], np.nan) for k in keypoints])
        stem = image["file_name"].rsplit(".", 1)[0]
        write_mmpose_frames(poses / f"{stem}.json", {0: xy})
        persons[stem] = (xy, (image["width"], image["height"]))
    return photos, f"mmpose-json:{poses}", persons


def test_a_folder_of_photos_gives_one_one_frame_clip_per_photo(coco_photos, tmp_path):
    photos, expert, persons = coco_photos
    output = tmp_path / "p.h5"
    result = CliRunner().invoke(
        main, ["extract", str(photos), "-o", str(output), "--experts", expert]
    )  # a photo keeps every person past --max-persons (default 2): one of them has 5
    assert result.exit_code == 0, result.output
    assert f"{photos}: 4 images -> 4 one-frame clips" in result.output
    assert f"extracted 4 videos x 1 experts (mmpose-json) = 4 clips, layout unik-17 -> {output}" in result.output
    assert validate(output) == []
    with SkeletonStore(output) as store:
        assert list(store.ids) == [f"{stem}@mmpose-json" for stem in sorted(persons)]
        for clip in store:
            stem = clip.id.split("@")[0]
            annotated, size = persons[stem]
            assert clip.source == str(photos / f"{stem}.jpg") and clip.image_size == size  # the decoded photo's
            found = [p for p in clip.keypoints[0] if not np.isnan(p).all()]  # slots past the photo's persons: NaN
            assert clip.frame_index.tolist() == [0] and len(found) == len(annotated)
            expected = remap(annotated, "coco-17", "unik-17")
            for person in found:
                assert any(np.allclose(person, truth, equal_nan=True) for truth in expected)


def test_photos_named_one_by_one_are_one_frame_clips_too(coco_photos, tmp_path):
    photos, expert, persons = coco_photos
    files = sorted(photos.iterdir())[:2]
    summary = extract(files, tmp_path / "p.h5", experts=[expert], progress=False, report=lambda line: None)
    assert summary["videos"] == 2
    with SkeletonStore(tmp_path / "p.h5") as store:
        assert [c.split("@")[0] for c in store.ids] == [f.stem for f in files]


@pytest.fixture
def numbered_walk(tmp_path):
    """walk/frame_2.png ... two figures crossing, every 2nd frame numbered, one dropped; their poses in poses/."""
    poses = crossing(frames=12)
    numbers = [2 * (k + 1) for k in range(12) if k != 6]
    folder = tmp_path / "walk"
    folder.mkdir()
    for k, n in enumerate(2 * (k + 1) for k in range(12)):
        if n not in numbers:
            continue
        image = np.full((240, 320, 3), 90, np.uint8)
        for person in poses[k]:
            for a, b in BONES:
                cv2.line(image, tuple(int(v) for v in person[a]), tuple(int(v) for v in person[b]), (255,) * 3, 3)
        assert cv2.imwrite(str(folder / f"frame_{n}.png"), image)
    (tmp_path / "poses").mkdir(exist_ok=True)
    truth = {n: poses[n // 2 - 1] for n in numbers}
    write_mmpose_frames(tmp_path / "poses" / "walk.json", truth)
    return folder, f"mmpose-json:{tmp_path / 'poses'}", truth


def test_numbered_frames_are_one_clip_in_numeric_order(numbered_walk, tmp_path):
    folder, expert, truth = numbered_walk
    output = tmp_path / "p.h5"
    result = CliRunner().invoke(main, ["extract", str(folder), "-o", str(output), "--experts", expert])
    assert result.exit_code == 0, result.output
    assert f"{folder}: 11 numbered frames -> one clip" in result.output
    assert validate(output) == []
    with SkeletonStore(output) as store:
        [clip] = list(store)
    assert clip.id == "walk@mmpose-json" and clip.source == str(folder) and clip.image_size == (320, 240)
    assert clip.frame_index.tolist() == sorted(truth)  # 2, 4, ..., 12, 16, ...: numeric, not name order
    assert (clip.track_id == [0, 1]).all()
    wrist = clip.keypoints[:, :, 9]  # unik-17 left_wrist is coco-17's (index 9)
    expected = np.stack([truth[n][:, 9] for n in sorted(truth)])
    assert np.allclose(wrist, expected) or np.allclose(wrist, expected[:, ::-1])


def test_ids_of_sequences_and_photos_are_stable_across_an_interrupted_run(
    numbered_walk, coco_photos, tmp_path, monkeypatch
):
    """A folder holding a numbered-frames subfolder and photos: the sequence's id is its folder, each photo's its
    path; a resumed run finds the finished parts by those ids and extracts only the rest."""
    folder, expert, _ = numbered_walk
    photos, _, persons = coco_photos
    lines = []
    videos = find_videos([tmp_path], lines.append)
    assert [v.id for v in videos] == [f"photos/{stem}" for stem in sorted(persons)] + ["walk"]
    assert lines == [f"{photos}: 4 images -> 4 one-frame clips", f"{folder}: 11 numbered frames -> one clip"]
    output = tmp_path / "out" / "p.h5"
    output.parent.mkdir()
    real = runner.extract_video

    def interrupt_at_walk(video, *args, **kwargs):
        if video.id == "walk":
            raise KeyboardInterrupt
        return real(video, *args, **kwargs)

    monkeypatch.setattr(runner, "extract_video", interrupt_at_walk)
    with pytest.raises(KeyboardInterrupt):
        extract([tmp_path], output, experts=[expert], progress=False)
    assert [part_path(work_folder(output), v).is_file() for v in videos] == [True] * 4 + [False]
    again = []
    monkeypatch.setattr(runner, "extract_video", lambda video, *a, **k: again.append(video.id) or real(video, *a, **k))
    summary = extract([tmp_path], output, experts=[expert], progress=False)
    assert again == ["walk"] and summary["resumed"] == 4 and summary["videos"] == 5
    with SkeletonStore(output) as store:
        assert [c.split("@")[0] for c in store.ids] == [v.id for v in videos]
