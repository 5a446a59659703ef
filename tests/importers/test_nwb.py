"""NWB (ndx-pose) reader: the VAME sample against its DLC CSV twin, a synthetic ndx-pose 0.2+ file, bad files."""

import datetime
import warnings

import h5py
import numpy as np
import pandas as pd
import pytest

from posekit.errors import InputError
from posekit.importers.dlc import read_dlc
from posekit.importers.nwb import read_nwb, strip_common
from posekit.layouts import mapping
from posekit.store import SkeletonStore, StoreWriter
from tests.conftest import real_file

SAMPLE = "animal/vame_sample/tests_project_sample_"


def only_clip(dataset):
    clips = list(dataset.clips)
    assert len(clips) == 1
    return clips[0]


def test_vame_sample_matches_its_dlc_csv(tmp_path):
    nwb = read_nwb([real_file(SAMPLE + "nwb__cropped_video.nwb")])
    clip = only_clip(nwb)
    frame = pd.read_csv(real_file(SAMPLE + "data__cropped_video.csv"), header=[0, 1, 2], index_col=0)
    parts = list(dict.fromkeys(frame.columns.get_level_values(1)))
    assert sorted(nwb.layout.joints) == sorted(parts) and nwb.provenance["software"] == "DeepLabCut"
    assert clip.keypoints.shape == (750, 1, 6, 2)
    for part in parts:
        j = nwb.layout.index(part)
        columns = frame.xs(part, axis=1, level=1)
        np.testing.assert_array_equal(clip.keypoints[:, 0, j], columns.iloc[:, :2].to_numpy(np.float32))
        np.testing.assert_array_equal(clip.scores[:, 0, j], columns.iloc[:, 2].to_numpy(np.float32))
    assert clip.fps == 1.0  # the file's timestamps are 0, 1, 2 ... seconds
    np.testing.assert_array_equal(clip.frame_index, np.arange(750))

    dlc = read_dlc([real_file(SAMPLE + "data__cropped_video.csv")])  # the same predictions, another reader
    by_name = mapping(dlc.layout, nwb.layout).apply(only_clip(dlc).keypoints, axis=2)
    np.testing.assert_array_equal(by_name, clip.keypoints)

    with StoreWriter(tmp_path / "nwb.h5", layout=nwb.layout, coord_dims=nwb.coord_dims) as w:
        w.add(clip)
    back = SkeletonStore(tmp_path / "nwb.h5")[0]
    np.testing.assert_array_equal(back.keypoints, clip.keypoints)
    np.testing.assert_array_equal(back.scores, clip.scores)
    assert back.fps == 1.0 and back.id == "tests_project_sample_nwb__cropped_video"


def write_two_animals(path):
    """ndx-pose 0.2+ layout: a shared Skeleton, one PoseEstimation per animal, by rate and by gappy timestamps."""
    import pynwb
    from ndx_pose import PoseEstimation, PoseEstimationSeries, Skeleton, Skeletons

    nwb = pynwb.NWBFile("two mice", "id", datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc))
    behavior = nwb.create_processing_module("behavior", "poses")
    skeleton = Skeleton(
        name="mouse", nodes=["m_tail", "m_nose", "m_ear"], edges=np.array([[0, 1], [1, 2]], dtype="uint8")
    )
    behavior.add(Skeletons(skeletons=[skeleton]))
    for name, offset in (("animal_a", 0), ("animal_b", 100)):
        timing = dict(rate=10.0) if name == "animal_a" else dict(timestamps=np.array([0.0, 0.1, 0.3, 0.4]))
        series = [
            PoseEstimationSeries(
                name=node,
                data=np.arange(8.0).reshape(4, 2) + offset + 10 * k,
                confidence=np.full(4, 0.5 + k / 10),
                unit="pixels",
                reference_frame="top left",
                **timing,
            )
            for k, node in enumerate(["m_tail", "m_nose", "m_ear"])
        ]
        behavior.add(
            PoseEstimation(name=name, pose_estimation_series=series, skeleton=skeleton, source_software="SLEAP")
        )
    with warnings.catch_warnings(), pynwb.NWBHDF5IO(str(path), "w") as io:
        warnings.simplefilter("ignore")
        io.write(nwb)
    return path


def test_one_clip_per_pose_estimation_in_skeleton_order(tmp_path):
    dataset = read_nwb([write_two_animals(tmp_path / "two.nwb")], max_persons=3)
    a, b = dataset.clips
    assert (a.id, b.id) == ("two.animal_a", "two.animal_b")
    assert dataset.layout.joints == ("tail", "nose", "ear")  # skeleton order, common "m_" dropped
    assert dataset.layout.parents == {"tail": "nose", "ear": "nose"}
    np.testing.assert_array_equal(a.keypoints[:, 0, :, 0], [[0, 10, 20], [2, 12, 22], [4, 14, 24], [6, 16, 26]])
    np.testing.assert_allclose(a.scores[0, 0], [0.5, 0.6, 0.7])
    assert a.fps == 10.0
    np.testing.assert_array_equal(a.frame_index, [0, 1, 2, 3])
    np.testing.assert_array_equal(b.keypoints[2, 0, 1], [114, 115])
    np.testing.assert_array_equal(b.frame_index, [0, 1, 3, 4])  # the 0.2 s gap is a missing frame
    assert b.fps == pytest.approx(10.0)


def test_strip_common_keeps_names_that_would_collide_or_vanish():
    assert strip_common(["mouse_nose", "mouse_tail", "mouse_left_ear"]) == ["nose", "tail", "left_ear"]
    assert strip_common(["nose_pos", "tail_pos", "ear_pos"]) == ["nose", "tail", "ear"]
    assert strip_common(["Nose", "Forehand-Left", "Forehand-Right"]) == ["Nose", "Forehand-Left", "Forehand-Right"]
    assert strip_common(["left_ear", "left_eye"]) == ["left_ear", "left_eye"]  # two names: too little evidence
    assert strip_common(["x", "x_a", "x_b"]) == ["x", "x_a", "x_b"]


def test_files_that_are_not_ndx_pose_nwb_name_the_file(tmp_path):
    import pynwb

    plain = tmp_path / "plain.h5"
    with h5py.File(plain, "w") as f:
        f["data"] = np.zeros(3)
    with pytest.raises(InputError, match=r"plain\.h5: not a readable NWB file"):
        read_nwb([plain])
    empty = tmp_path / "empty.nwb"
    with pynwb.NWBHDF5IO(str(empty), "w") as io:
        io.write(pynwb.NWBFile("nothing", "id", datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)))
    with pytest.raises(InputError, match=r"empty\.nwb: no ndx-pose PoseEstimation"):
        read_nwb([empty])
