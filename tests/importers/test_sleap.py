"""SLEAP reader: .slp labels and analysis HDF5 checked against a raw h5py read, synthetic edge cases, bad files."""

import h5py
import numpy as np
import pytest
import sleap_io as sio

from posekit.convert import convert
from posekit.errors import InputError
from posekit.importers.sleap import read_sleap
from posekit.store import SkeletonStore, StoreWriter
from posekit.store.validate import validate
from posekit.video import VideoReader
from tests.conftest import real_file

DANCE = "animal/sleap/slp_hdf5/dance.mp4.labels.slp"
PAIR = "animal/sleap/hdf5_format_v1/centered_pair_predictions"
ROBOT = "animal/sleap/hdf5_format_v1/small_robot.000_small_robot_3_frame.analysis.h5"
USER, PREDICTED = 0, 1


def raw_instances(path):
    """(frame_idx, instance type, track, xy (V, 2), scores (V,)) per instance, straight from the SLP tables."""
    with h5py.File(path, "r") as f:
        frames, instances = f["frames"][()], f["instances"][()]
        tables = {USER: f["points"][()], PREDICTED: f["pred_points"][()]}
    out = []
    for frame in frames:
        for inst in instances[frame["instance_id_start"] : frame["instance_id_end"]]:
            points = tables[inst["instance_type"]][inst["point_id_start"] : inst["point_id_end"]]
            xy = np.stack([points["x"], points["y"]], axis=1)
            xy[~points["visible"]] = np.nan
            scores = points["score"] if inst["instance_type"] == PREDICTED else np.ones(len(points))
            out.append((int(frame["frame_idx"]), int(inst["instance_type"]), int(inst["track"]), xy, scores))
    return out


def only_clip(dataset):
    clips = list(dataset.clips)
    assert len(clips) == 1
    return clips[0]


def test_tracked_predictions_match_the_raw_tables():
    path = real_file(PAIR + ".slp")
    dataset = read_sleap([path])
    clip = only_clip(dataset)
    assert dataset.layout.num_joints == 24 and dataset.layout.joints[:3] == ("head", "neck", "thorax")
    assert dataset.layout.parents["head"] == "neck" and len(dataset.layout.parents) == 23
    assert clip.keypoints.shape == (1100, 27, 24, 2)  # one person per track
    np.testing.assert_array_equal(clip.frame_index, np.arange(1100))
    raw = raw_instances(path)
    assert {r[2] for r in raw} == set(range(27))  # every track is used, so person slot = track index
    for frame, _, track, xy, scores in raw[::97]:
        np.testing.assert_array_equal(clip.keypoints[frame, track], xy.astype(np.float32))
        np.testing.assert_array_equal(clip.scores[frame, track], scores.astype(np.float32))
        assert clip.track_id[frame, track] == track
    occupied = np.zeros((1100, 27), bool)
    occupied[[r[0] for r in raw], [r[2] for r in raw]] = True
    np.testing.assert_array_equal(clip.track_id >= 0, occupied)


def test_user_instances_replace_the_predictions_they_correct():
    path = real_file(DANCE)
    clip = only_clip(read_sleap([path], fps=30))
    raw = raw_instances(path)
    assert clip.keypoints.shape == (450, 1, 17, 2) and clip.fps == 30
    user = {r[0]: r for r in raw if r[1] == USER}
    predicted = {r[0]: r for r in raw if r[1] == PREDICTED}
    assert sorted(user) == [0, 1, 2]
    for frame in (0, 2):
        np.testing.assert_array_equal(clip.keypoints[frame, 0], user[frame][3].astype(np.float32))
        labelled = ~np.isnan(user[frame][3][:, 0])
        np.testing.assert_array_equal(clip.scores[frame, 0], np.where(labelled, 1, np.nan))  # not the predictions'
        assert (predicted[frame][4] < 1).any()
    for frame in (3, 449):
        np.testing.assert_array_equal(clip.keypoints[frame, 0], predicted[frame][3].astype(np.float32))
        np.testing.assert_array_equal(clip.scores[frame, 0], predicted[frame][4].astype(np.float32))


def test_analysis_h5_is_transposed_from_matlab_order():
    path = real_file(ROBOT)
    dataset = read_sleap([path])
    clip = only_clip(dataset)
    with h5py.File(path, "r") as f:
        tracks = f["tracks"][()]  # (tracks, 2, nodes, frames)
        point_scores = f["point_scores"][()]  # (tracks, nodes, frames)
    assert dataset.layout.joints == ("top", "front", "rear")
    assert clip.keypoints.shape == (3, 1, 3, 2)
    for frame in range(3):
        for node in range(3):
            np.testing.assert_array_equal(clip.keypoints[frame, 0, node], tracks[0, :, node, frame].astype(np.float32))
            np.testing.assert_array_equal(clip.scores[frame, 0, node], np.float32(point_scores[0, node, frame]))
    assert clip.keypoints[1, 0, 0, 0] != clip.keypoints[0, 0, 0, 0]  # frames really differ: the axis is right
    np.testing.assert_array_equal(clip.frame_index, [0, 1, 2])


def synthetic_labels(path):
    """Frames 5 and 8 of one video: a tracked prediction, an untracked one, and (frame 8) a corrected track."""
    skeleton = sio.Skeleton(["a", "b"])
    track = sio.Track("only")
    video = sio.Video(filename="clip.mp4", open_backend=False)

    def predicted(x, track=None):
        return sio.PredictedInstance.from_numpy(
            np.array([[x, x + 1], [x + 2, x + 3]], float), skeleton, point_scores=np.array([0.5, 0.25]), track=track
        )

    corrected_from = predicted(20, track)
    corrected = sio.Instance.from_numpy(
        np.array([[99.0, 98.0], [np.nan, np.nan]]), skeleton, track=track, from_predicted=corrected_from
    )
    frames = [
        sio.LabeledFrame(video, 5, [predicted(10, track), predicted(30)]),
        sio.LabeledFrame(video, 8, [corrected_from, corrected, predicted(40)]),
    ]
    sio.save_slp(sio.Labels(frames, videos=[video], skeletons=[skeleton], tracks=[track]), str(path))
    return path


def test_gaps_untracked_instances_and_corrections(tmp_path):
    clip = only_clip(read_sleap([synthetic_labels(tmp_path / "syn.slp")]))
    assert clip.keypoints.shape == (4, 2, 2, 2)  # frames 5..8, the track then one untracked slot
    np.testing.assert_array_equal(clip.frame_index, [5, 6, 7, 8])
    assert np.isnan(clip.keypoints[1:3]).all()
    np.testing.assert_array_equal(clip.keypoints[0, 0], [[10, 11], [12, 13]])
    np.testing.assert_array_equal(clip.keypoints[0, 1], [[30, 31], [32, 33]])
    np.testing.assert_array_equal(clip.keypoints[3, 0, 0], [99, 98])  # the user's correction, not 20
    assert np.isnan(clip.keypoints[3, 0, 1]).all()
    np.testing.assert_array_equal(clip.scores[3, 0], [1, np.nan])
    np.testing.assert_array_equal(clip.scores[0, 1], [0.5, 0.25])
    np.testing.assert_array_equal(clip.track_id, [[0, 1], [-1, -1], [-1, -1], [0, 1]])


def test_max_persons_keeps_the_longest_tracks_with_their_ids(tmp_path):
    path = real_file(PAIR + ".slp")
    clip = only_clip(read_sleap([path], max_persons=2))
    visible = {}
    for frame, _, track, xy, _ in raw_instances(path):
        visible[track] = visible.get(track, 0) + int((~np.isnan(xy).any(axis=1)).sum())
    longest = sorted(sorted(visible, key=visible.get)[-2:])
    assert clip.keypoints.shape[1] == 2
    assert [int(np.max(clip.track_id[:, k])) for k in range(2)] == longest
    with StoreWriter(tmp_path / "pair.h5", layout=read_sleap([path]).layout) as w:
        w.add(clip)
    back = SkeletonStore(tmp_path / "pair.h5")[0]
    np.testing.assert_array_equal(back.keypoints, clip.keypoints)
    np.testing.assert_array_equal(back.track_id, clip.track_id)
    np.testing.assert_array_equal(back.frame_index, clip.frame_index)


def test_old_slp_layout_and_non_sleap_h5_name_the_file(tmp_path):
    with pytest.raises(InputError, match=r"centered_pair_predictions\.h5: SLEAP labels in the old layout"):
        read_sleap([real_file(PAIR + ".h5")])
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as f:
        f["data"] = np.zeros(3)
    with pytest.raises(InputError, match=r"other\.h5: not a SLEAP file"):
        read_sleap([other])
    text = tmp_path / "text.slp"
    text.write_text("not hdf5")
    with pytest.raises(InputError, match=r"text\.slp: not an HDF5 file"):
        read_sleap([text])


LOW_QUALITY_VIDEO = "animal/sleap/json_format_v1/centered_pair_low_quality.mp4"


def video_facts(relative):
    with VideoReader(real_file(relative)) as video:
        return video.fps, video.image_size


def female_and_male(path):
    """The real two-fly labels, as a lab names its animals: tracks "female" and "male", the video where it is."""
    labels = sio.load_slp(str(real_file("animal/sleap/slp_hdf5/minimal_instance.slp")), open_videos=False)
    tracks = [sio.Track("female"), sio.Track("male")]
    for instance, track in zip(labels.labeled_frames[0].instances, tracks):
        instance.track = track
    labels.tracks = tracks
    labels.replace_filenames(new_filenames=[str(real_file(LOW_QUALITY_VIDEO))])
    sio.save_slp(labels, str(path))
    return path


def test_track_names_fps_and_image_size_reach_the_store(tmp_path):
    path = female_and_male(tmp_path / "flies.slp")
    summary = convert("sleap", [path], tmp_path / "flies.h5", progress=False)
    store = SkeletonStore(tmp_path / "flies.h5")
    clip = store[0]
    assert summary["clips"] == 1 and clip.track_names == ("female", "male")
    np.testing.assert_array_equal(clip.track_id, [[0, 1]])
    assert (clip.fps, clip.image_size) == video_facts(LOW_QUALITY_VIDEO) == (15.0, (384, 384))
    assert validate(tmp_path / "flies.h5") == []
    assert only_clip(read_sleap([path], fps=25)).fps == 25  # --fps wins over the video's


def test_a_moved_projects_video_is_found_below_the_labels_folder():
    """The real files record the paths of the SLEAP repository they were made in (relative, absolute, Windows);
    the videos sit in this copy's videos/ and json_format_v1/ folders."""
    pair = only_clip(read_sleap([real_file(PAIR + ".slp")]))  # tests/data/json_format_v1/centered_pair_low_quality.mp4
    assert (pair.fps, pair.image_size) == video_facts(LOW_QUALITY_VIDEO)
    assert pair.track_names == tuple(str(k) for k in range(1, 28))
    dance = only_clip(read_sleap([real_file(DANCE)]))  # /home/talmolab/.../tests/data/videos/dance.mp4
    assert (dance.fps, dance.image_size) == video_facts("animal/sleap/videos/dance.mp4") == (30.0, (406, 720))
    robot = only_clip(read_sleap([real_file(ROBOT)]))  # D:/TalmoLab/sleap/tests/data/videos/small_robot_3_frame.mp4
    assert (robot.fps, robot.image_size) == video_facts("animal/sleap/videos/small_robot_3_frame.mp4")


def test_a_video_that_is_nowhere_leaves_fps_and_size_unknown(tmp_path):
    clip = only_clip(read_sleap([synthetic_labels(tmp_path / "syn.slp")]))  # records clip.mp4, absent
    assert np.isnan(clip.fps) and clip.image_size == (0, 0) and clip.track_names == ("only",)
