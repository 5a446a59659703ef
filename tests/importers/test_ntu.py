"""NTU RGB+D .skeleton reader on files written here in the dataset's exact text layout."""

import numpy as np
import pytest

from posekit.errors import InputError
from posekit.importers.ntu import NTU_CLASSES, read_ntu

# The first body line and first joint line of S001C001P001R001A001.skeleton, as the dataset's README shows them.
REAL_BODY = "72057594037931101 0 1 1 1 1 0 0.02764709 0.05745083 2"
REAL_JOINT = (
    "0.2181153 0.1725972 3.785547 277.419 191.8218 1036.233 519.1677 -0.2059419 0.05349901 0.9692109 -0.1239193 2"
)


def joint_values(body: int, frame: int, joint: int, motion: float) -> list[float]:
    """12 distinct values per joint; ``motion`` scales how much x, y, z change from frame to frame."""
    base = [body + joint * 0.01 + frame * motion, 0.5 + joint * 0.02 + frame * motion, 3.0 + frame * motion]
    return base + [200 + joint, 100 + frame, 900 + joint, 500 + frame, 0.1, 0.2, 0.3, 0.4, (joint + frame) % 3]


def write_skeleton(path, frames):
    """frames: list of {body_id: motion}; body 'real' uses the dataset's own first lines for joint 0."""
    lines = [str(len(frames))]
    for t, bodies in enumerate(frames):
        lines.append(str(len(bodies)))
        for body_id, motion in bodies.items():
            lines.append(REAL_BODY if body_id == "real" else f"{body_id} 0 1 1 1 1 0 0.01 -0.02 2")
            lines.append("25")
            for j in range(25):
                if body_id == "real" and j == 0 and t == 0:
                    lines.append(REAL_JOINT)
                else:
                    lines.append(" ".join(f"{v:.7g}" for v in joint_values(_number(body_id), t, j, motion)))
    path.write_text("\r\n".join(lines) + "\r\n")  # the released files use Windows line ends
    return path


def _number(body_id: str) -> int:
    return 0 if body_id == "real" else int(body_id) % 7


def test_values_parse_exactly(tmp_path):
    both = {"real": 0.1, "72057594037931102": 1.0}
    path = write_skeleton(tmp_path / "S001C001P001R001A001.skeleton", [{"real": 0.1}, both, both])
    [clip] = list(read_ntu([path]).clips)
    assert clip.keypoints.shape == (3, 2, 25, 3) and clip.id == path.stem
    moving, real = 0, 1  # the second body moves more (1.0 per frame against 0.1) so it comes first
    np.testing.assert_array_equal(clip.keypoints[0, real, 0], np.float32([0.2181153, 0.1725972, 3.785547]))
    assert clip.scores[0, real, 0] == 1.0  # trackingState 2 / 2
    expected = joint_values(_number("72057594037931102"), 1, 4, 1.0)
    np.testing.assert_array_equal(clip.keypoints[1, moving, 4], np.float32([float(f"{v:.7g}") for v in expected[:3]]))
    assert clip.scores[1, moving, 4] == expected[11] / 2
    assert np.isnan(clip.keypoints[0, moving]).all() and np.isnan(clip.keypoints[1:, moving]).sum() == 0
    assert clip.label == 0 and clip.fps == 30
    assert set(clip.splits) == {"xsub_train", "xview_test", "xset_test"}


def test_colour_space_keeps_xyz(tmp_path):
    path = write_skeleton(tmp_path / "S001C001P001R001A001.skeleton", [{"real": 0.1}])
    [clip] = list(read_ntu([path], space="color").clips)
    np.testing.assert_array_equal(clip.keypoints[0, 0, 0], np.float32([1036.233, 519.1677]))
    np.testing.assert_array_equal(clip.keypoints_3d[0, 0, 0], np.float32([0.2181153, 0.1725972, 3.785547]))
    assert clip.image_size == (1920, 1080)


def test_keeps_the_bodies_with_most_motion(tmp_path):
    frames = [{"1": 0.0, "2": 0.5, "3": 0.2}] * 4  # body 1 is still (e.g. a false detection)
    path = write_skeleton(tmp_path / "S001C001P001R001A050.skeleton", frames)
    [clip] = list(read_ntu([path]).clips)
    assert clip.num_persons == 2
    np.testing.assert_allclose(clip.keypoints[1:, 0, 0, 0] - clip.keypoints[:-1, 0, 0, 0], 0.5, atol=1e-5)
    np.testing.assert_allclose(clip.keypoints[1:, 1, 0, 0] - clip.keypoints[:-1, 1, 0, 0], 0.2, atol=1e-5)
    [single] = list(read_ntu([path], max_persons=1).clips)
    assert single.num_persons == 1


def test_splits_labels_and_classes_from_the_name(tmp_path):
    path = write_skeleton(tmp_path / "S002C002P003R001A061.skeleton", [{"1": 0.1}])
    dataset = read_ntu([path])
    [clip] = list(dataset.clips)
    assert clip.label == 60 and dataset.classes == NTU_CLASSES and len(NTU_CLASSES) == 120
    assert NTU_CLASSES[60] == "put on headphone"
    assert set(clip.splits) == {"xsub_test", "xview_train", "xset_train"}
    ntu60 = read_ntu([write_skeleton(tmp_path / "S001C003P008R002A060.skeleton", [{"1": 0.1}])])
    assert len(ntu60.classes) == 60 and ntu60.name == "ntu60"


def test_sample_without_skeleton_is_skipped(tmp_path):
    empty = tmp_path / "S001C001P001R001A001.skeleton"
    empty.write_text("3\r\n0\r\n0\r\n0\r\n")
    assert list(read_ntu([empty]).clips) == []


@pytest.mark.parametrize("cut", [0.3, 0.75, 0.999])
def test_truncated_file_names_the_file(tmp_path, cut):
    path = write_skeleton(tmp_path / "S001C001P001R001A001.skeleton", [{"1": 0.1, "2": 0.2}] * 3)
    text = path.read_text()
    path.write_text(text[: int(len(text) * cut)].rsplit(" ", 1)[0])
    with pytest.raises(InputError, match="S001C001P001R001A001.skeleton.*truncated"):
        list(read_ntu([path]).clips)


def test_garbage_and_foreign_names_name_the_file(tmp_path):
    bad = tmp_path / "S001C001P001R001A001.skeleton"
    bad.write_text("two\r\n")
    with pytest.raises(InputError, match="S001C001P001R001A001.skeleton"):
        list(read_ntu([bad]).clips)
    foreign = tmp_path / "clip.skeleton"
    foreign.write_text("0\r\n")
    with pytest.raises(InputError, match="clip.skeleton.*SsssCcccPpppRrrrAaaa"):
        read_ntu([foreign])
