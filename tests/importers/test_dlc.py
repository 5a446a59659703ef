"""DeepLabCut reader: real prediction and labelled-data files, header variants, layouts, malformed files."""
import json

import h5py
import numpy as np
import pandas as pd
import pytest

from posekit.convert import convert
from posekit.errors import InputError
from posekit.importers.dlc import read_dlc
from posekit.store import SkeletonStore, StoreWriter
from tests.conftest import real_file

BSOID = "animal/bsoid_dlc/raw_clip1DLC_resnet50_OpenFieldHighResApr8shuffle1_1030000"
LABELLED = "animal/sleap/dlc/labeled-data/video/"
VAME_CSV = "animal/vame_sample/tests_project_sample_data__cropped_video.csv"


def only_clip(dataset):
    clips = list(dataset.clips)
    assert len(clips) == 1
    return clips[0]


def test_predictions_h5_match_pandas_and_the_csv_twin():
    h5, csv = real_file(BSOID + ".h5"), real_file(BSOID + ".csv")
    from_h5, from_csv = read_dlc([h5]), read_dlc([csv])
    a, b = only_clip(from_h5), only_clip(from_csv)
    frame = pd.read_hdf(h5)
    scorer = frame.columns.get_level_values(0)[0]
    parts = list(dict.fromkeys(frame.columns.get_level_values("bodyparts")))
    assert from_h5.layout.joints == tuple(parts) == ("Snout", "Front Paw R", "Front Paw L", "Hind Paw R",
                                                     "Hind Paw L", "Butt/Proximal Tail")
    assert from_h5.provenance == {"source_format": "dlc", "scorer": scorer}
    assert a.keypoints.shape == (7200, 1, 6, 2) and a.id == h5.stem
    for j, part in enumerate(parts):
        np.testing.assert_array_equal(a.keypoints[:, 0, j, 0], frame[(scorer, part, "x")].to_numpy(np.float32))
        np.testing.assert_array_equal(a.keypoints[:, 0, j, 1], frame[(scorer, part, "y")].to_numpy(np.float32))
        np.testing.assert_array_equal(a.scores[:, 0, j], frame[(scorer, part, "likelihood")].to_numpy(np.float32))
    np.testing.assert_array_equal(a.frame_index, np.arange(7200))
    for field in ("keypoints", "scores", "frame_index", "track_id"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field))
    assert np.isnan(a.fps)


def test_folder_with_h5_and_csv_twins_gives_one_clip():
    folder = real_file(BSOID + ".h5").parent
    assert [c.id for c in read_dlc([folder]).clips] == [real_file(BSOID + ".h5").stem]


def test_mangled_scorer_row_is_not_trusted():
    path = real_file(VAME_CSV)
    dataset = read_dlc([path], fps=25)
    clip = only_clip(dataset)
    frame = pd.read_csv(path, header=[0, 1, 2], index_col=0)  # level 0 holds "...350000.1", ".2", ...
    assert dataset.provenance["scorer"] == "DeepCut_resnet50_VAME-FinalNov7shuffle1_350000"
    assert dataset.layout.joints == ("Nose", "Forehand-Left", "Forehand-Right", "Hindhand-Left",
                                     "Hindhand-Right", "Tailroot")
    assert clip.keypoints.shape == (750, 1, 6, 2) and clip.fps == 25
    values = frame.to_numpy(np.float32).reshape(750, 6, 3)
    np.testing.assert_array_equal(clip.keypoints[:, 0], values[..., :2])
    np.testing.assert_array_equal(clip.scores[:, 0], values[..., 2])


def test_single_animal_labelled_data():
    clip = only_clip(read_dlc([real_file(LABELLED + "dlc_testdata.csv")]))
    kp = clip.keypoints[:, 0]
    assert kp.shape == (4, 3, 2)
    np.testing.assert_array_equal(kp[0], [[0, 1], [2, 3], [4, 5]])
    np.testing.assert_array_equal(kp[1, [0, 2]], [[12, 13], [15, 16]])
    assert np.isnan(kp[1, 1]).all() and np.isnan(kp[2]).all()
    np.testing.assert_array_equal(clip.scores[1, 0], [1, np.nan, 1])  # labelled points are certain
    np.testing.assert_array_equal(clip.frame_index, [0, 1, 2, 3])  # from img000.png ... img003.png
    np.testing.assert_array_equal(clip.track_id[:, 0], [0, 0, -1, 0])


def test_multi_animal_labelled_data_has_one_person_per_individual():
    clip = only_clip(read_dlc([real_file(LABELLED + "madlc_testdata.csv")]))
    assert clip.keypoints.shape == (4, 2, 3, 2)
    np.testing.assert_array_equal(clip.keypoints[0, 1], [[6, 7], [8, 9], [10, 11]])
    np.testing.assert_array_equal(clip.keypoints[1, 1, [0, 2]], [[17, 18], [20, 21]])
    np.testing.assert_array_equal(clip.track_id[3], [0, -1])


def test_unique_bodyparts_are_extra_joints_of_person_0():
    dataset = read_dlc([real_file(LABELLED + "maudlc_testdata.csv")])
    clip = only_clip(dataset)
    assert dataset.layout.joints == ("A", "B", "C", "D", "E")
    np.testing.assert_array_equal(clip.keypoints[1, 0, 3:], [[22, 23], [24, 25]])
    np.testing.assert_array_equal(clip.keypoints[3, 0], [[26, 27], [28, 29], [30, 31], [32, 33], [34, 35]])
    assert np.isnan(clip.keypoints[:, 1, 3:]).all()
    assert np.isnan(clip.keypoints[0, 0, 3:]).all()  # row img000 leaves D, E empty


def test_layout_from_dlc_config_carries_the_skeleton():
    config = real_file("animal/sleap/dlc/madlc_230_config.yaml")
    dataset = read_dlc([real_file(LABELLED + "maudlc_testdata.csv")], layout=str(config))
    assert dataset.layout.joints == ("A", "B", "C", "D", "E")
    assert dataset.layout.parents == {"B": "A", "C": "A"}
    assert only_clip(dataset).keypoints.shape == (4, 2, 5, 2)


def test_given_layout_reorders_joints_by_name(tmp_path):
    path = real_file(LABELLED + "dlc_testdata.csv")
    reordered = tmp_path / "cba.json"
    reordered.write_text(json.dumps({"joints": ["C", "B", "A", "Z"]}))
    dataset = read_dlc([path], layout=str(reordered))
    clip = only_clip(dataset)
    assert dataset.layout.joints == ("C", "B", "A", "Z")
    np.testing.assert_array_equal(clip.keypoints[0, 0, :3], [[4, 5], [2, 3], [0, 1]])
    assert np.isnan(clip.keypoints[:, :, 3]).all()  # a layout joint the file lacks stays missing


def test_a_layout_lacking_some_body_parts_is_left_to_convert(tmp_path):
    path = real_file(LABELLED + "dlc_testdata.csv")
    lacking = tmp_path / "ab.json"
    lacking.write_text(json.dumps({"joints": ["B", "A"]}))
    assert read_dlc([path], layout=str(lacking)).layout.joints == ("A", "B", "C")  # the file's own names
    convert("dlc", [path], tmp_path / "ab.h5", layout=str(lacking), progress=False)
    stored = SkeletonStore(tmp_path / "ab.h5")
    assert stored.layout.joints == ("B", "A")
    np.testing.assert_array_equal(stored[0].keypoints[0, 0], [[2, 3], [0, 1]])
    nothing_shared = tmp_path / "xy.json"
    nothing_shared.write_text(json.dumps({"joints": ["X", "Y"]}))
    with pytest.raises(InputError, match="shares no joint"):
        convert("dlc", [path], tmp_path / "xy.h5", layout=str(nothing_shared), progress=False)


def test_files_with_other_body_parts_than_the_first_name_the_file():
    first, other = real_file(LABELLED + "dlc_testdata.csv"), real_file(VAME_CSV)
    with pytest.raises(InputError, match=r"cropped_video\.csv: joints Nose, .* are not in layout 'dlc-Scorer'"):
        list(read_dlc([first, other]).clips)


def test_max_persons_keeps_the_most_visible_individual():
    clip = only_clip(read_dlc([real_file(LABELLED + "madlc_testdata.csv")], max_persons=1))
    assert clip.keypoints.shape[1] == 1  # Animal1 has 8 labelled points, Animal2 5
    np.testing.assert_array_equal(clip.keypoints[0, 0], [[0, 1], [2, 3], [4, 5]])


def test_round_trip_through_the_store(tmp_path):
    dataset = read_dlc([real_file(LABELLED + "maudlc_testdata.csv")])
    clips = list(dataset.clips)
    with StoreWriter(tmp_path / "s.h5", layout=dataset.layout, coord_dims=dataset.coord_dims) as w:
        w.add(clips[0])
    back = SkeletonStore(tmp_path / "s.h5")[0]
    assert back.id == "maudlc_testdata" and SkeletonStore(tmp_path / "s.h5").layout.joints[3:] == ("D", "E")
    np.testing.assert_array_equal(back.keypoints, clips[0].keypoints)
    np.testing.assert_array_equal(back.scores, clips[0].scores)
    np.testing.assert_array_equal(back.track_id, clips[0].track_id)


def test_truncated_csv_names_the_file(tmp_path):
    lines = real_file(BSOID + ".csv").read_text().splitlines()
    cut = tmp_path / "cut.csv"
    cut.write_text("\n".join(lines[:10] + [lines[10][:40]]) + "\n")
    with pytest.raises(InputError, match=r"cut\.csv: line 11 has \d+ of 19 fields"):
        list(read_dlc([cut]).clips)
    header_only = tmp_path / "header.csv"
    header_only.write_text("\n".join(lines[:2]) + "\n")
    with pytest.raises(InputError, match=r"header\.csv: no DeepLabCut header"):
        read_dlc([header_only])


def test_csv_with_a_wrong_header_names_the_file(tmp_path):
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("scorer,S,S\nbodyparts,A,A\ncoords,x,angle\n0,1,2\n")
    with pytest.raises(InputError, match=r"wrong\.csv: no DeepLabCut header"):
        read_dlc([wrong])


def test_h5_that_is_not_a_dlc_table_names_the_file(tmp_path):
    plain = tmp_path / "plain.h5"
    with h5py.File(plain, "w") as f:
        f["tracks"] = np.zeros((1, 2, 3, 4))
    with pytest.raises(InputError, match=r"plain\.h5: not a DeepLabCut \.h5"):
        read_dlc([plain])
    flat = tmp_path / "flat.h5"
    pd.DataFrame({"x": [1.0], "y": [2.0]}).to_hdf(flat, key="df_with_missing", format="table")
    with pytest.raises(InputError, match=r"flat\.h5: not a DeepLabCut table"):
        read_dlc([flat])
    text = tmp_path / "text.h5"
    text.write_text("scorer,S\n")
    with pytest.raises(InputError, match=r"text\.h5: not an HDF5 file$"):
        read_dlc([text])
