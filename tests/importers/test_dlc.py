"""DeepLabCut reader: real prediction and labelled-data files, header variants, layouts, malformed files."""

import json
import pickle
import subprocess
import sys

import h5py
import numpy as np
import pandas as pd
import pytest

from posekit.convert import convert
from posekit.errors import InputError
from posekit.importers.dlc import UNIQUE, read_dlc, read_table
from posekit.store import SkeletonStore, StoreWriter
from tests.conftest import real_file
from tests.crafted import CreatesMarker, assert_one_line_error, dlc_frame, hostile_dlc_h5

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
    assert (
        from_h5.layout.joints
        == tuple(parts)
        == ("Snout", "Front Paw R", "Front Paw L", "Hind Paw R", "Hind Paw L", "Butt/Proximal Tail")
    )
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
    assert dataset.layout.joints == (
        "Nose",
        "Forehand-Left",
        "Forehand-Right",
        "Hindhand-Left",
        "Hindhand-Right",
        "Tailroot",
    )
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


def _pandas_readers_forbidden(monkeypatch):
    """pandas.read_hdf and PyTables unpickle what a file holds: make any use of them fail the test."""
    import tables

    def forbidden(*args, **kwargs):
        raise AssertionError("a user's .h5 was opened with pandas / PyTables")

    for owner, name in ((pd, "read_hdf"), (pd, "HDFStore"), (tables, "open_file")):
        monkeypatch.setattr(owner, name, forbidden)


def test_real_h5_is_read_without_pandas_to_exactly_pandas_numbers(monkeypatch):
    h5 = real_file(BSOID + ".h5")  # pandas "table" layout, written by DLC 2.x under pandas 0.15
    frame = pd.read_hdf(h5)  # trusted here: the project's own sample file
    _pandas_readers_forbidden(monkeypatch)
    table = read_table(h5)
    assert table.scorer == frame.columns.get_level_values("scorer")[0]
    assert table.columns == [("",) + tuple(c[1:]) for c in frame.columns]
    np.testing.assert_array_equal(table.values, frame.to_numpy(np.float64))
    assert table.index == list(frame.index)


@pytest.mark.parametrize("layout", ["fixed", "table"])
@pytest.mark.parametrize("rows", ["numbers", "image paths", "image path levels"])
def test_both_pandas_layouts_are_read_without_pandas(tmp_path, monkeypatch, layout, rows):
    if layout == "table" and rows == "image path levels":
        pytest.skip("pandas cannot write row and column MultiIndexes in the table layout")
    parts = [(animal, part) for animal in ("m1", "m2") for part in ("nose", "tail")] + [(UNIQUE, "corner")]
    columns = pd.MultiIndex.from_tuples(
        [("S", animal, part, coord) for animal, part in parts for coord in "xy"],
        names=["scorer", "individuals", "bodyparts", "coords"],
    )
    frame = pd.DataFrame(np.arange(2 * 10, dtype=np.float64).reshape(2, 10), columns=columns)
    frame[("S", "m2", "tail", "y")] = frame[("S", "m2", "tail", "y")].astype(np.int64)  # a second block
    frame.iloc[1, 0] = np.nan
    images = ["labeled-data/v/img007.png", "labeled-data/v/img009.png"]
    if rows == "image paths":
        frame.index = images
    elif rows == "image path levels":
        frame.index = pd.MultiIndex.from_tuples([tuple(image.split("/")) for image in images])
    path = tmp_path / "CollectedData_S.h5"
    frame.to_hdf(path, key="df_with_missing", format=layout, mode="w")
    _pandas_readers_forbidden(monkeypatch)
    dataset = read_dlc([path])
    clip = only_clip(dataset)
    assert dataset.layout.joints == ("nose", "tail", "corner") and dataset.provenance["scorer"] == "S"
    assert clip.keypoints.shape == (2, 2, 3, 2)  # frames, individuals m1 and m2, joints, xy
    np.testing.assert_array_equal(clip.keypoints[0, 1, :2], [[4, 5], [6, 7]])
    np.testing.assert_array_equal(clip.keypoints[0, 0, 2], [8, 9])  # the unique body part is person 0's
    assert np.isnan(clip.keypoints[:, 1, 2]).all()
    assert np.isnan(clip.keypoints[1, 0, 0, 0]) and clip.keypoints[1, 0, 0, 1] == 11
    np.testing.assert_array_equal(clip.keypoints[1, 1, 1], [16, 17])
    np.testing.assert_array_equal(clip.frame_index, [0, 1] if rows == "numbers" else [7, 9])


def _convert(*args):
    from click.testing import CliRunner

    from posekit.cli import main

    return CliRunner().invoke(main, ["convert", "dlc", *map(str, args)])


def test_an_object_column_is_refused_without_unpickling_it(tmp_path):
    marker = tmp_path / "ran"
    evil = hostile_dlc_h5(tmp_path / "evil.h5", marker)
    result = _convert(evil, "-o", tmp_path / "out.h5")
    assert_one_line_error(result)
    assert "evil.h5: object column: posekit reads only numeric DLC tables" in result.output
    assert not marker.exists() and not (tmp_path / "out.h5").exists()


def test_a_pickled_attribute_that_calls_code_is_refused(tmp_path):
    """PyTables unpickles attributes that look like pickles; pandas' "table" layout keeps its columns in one."""
    marker = tmp_path / "ran"
    evil = tmp_path / "evil.h5"
    dlc_frame().to_hdf(evil, key="df_with_missing", format="table", mode="w")
    with h5py.File(evil, "a") as f:
        f["df_with_missing"].attrs["non_index_axes"] = np.bytes_(pickle.dumps([(1, [CreatesMarker(marker)])], 0))
    result = _convert(evil, "-o", tmp_path / "out.h5")
    assert_one_line_error(result)
    assert "evil.h5: attribute non_index_axes is not plain data" in result.output and "refusing" in result.output
    assert not marker.exists()


def test_a_truncated_h5_is_one_line_without_an_hdf5_back_trace(tmp_path):
    whole = tmp_path / "whole.h5"
    dlc_frame(rows=2000).to_hdf(whole, key="df_with_missing", format="table", mode="w")
    cut = tmp_path / "cut.h5"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    # a child process: HDF5's C library would print its diagnostics on file descriptor 2, past CliRunner
    child = subprocess.run(
        [
            sys.executable,
            "-c",
            "from posekit.cli import main; main()",
            "convert",
            "dlc",
            str(cut),
            "-o",
            str(tmp_path / "out.h5"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert child.returncode == 2
    lines = child.stderr.strip().splitlines()
    assert (
        len(lines) == 1
        and lines[0].startswith(f"posekit: error: {cut}: damaged HDF5 file (")
        and "truncated file" in lines[0]
    ), child.stderr
    assert "HDF5-DIAG" not in child.stderr + child.stdout


def test_a_csv_without_rows_names_the_file(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("scorer,S,S,S\nbodyparts,A,A,A\ncoords,x,y,likelihood\n")
    with pytest.raises(InputError, match=r"empty\.csv: no rows below the header$"):
        read_dlc([empty])


OPENFIELD = "animal/dlc_openfield/"


def labelled_project(tmp_path):
    """A DeepLabCut project's labeled-data/ as Pranav's openfield example has it: one folder per video, each with
    PNG frames extracted from the real video and a CollectedData_Pranav table (.h5 and its .csv twin). The second
    video was recorded at half the resolution."""
    import cv2

    from posekit.video import VideoReader

    parts = ("snout", "leftear", "rightear", "tailbase")
    columns = pd.MultiIndex.from_tuples(
        [("Pranav", part, coord) for part in parts for coord in ("x", "y")], names=["scorer", "bodyparts", "coords"]
    )
    labelled = tmp_path / "openfield-Pranav-2018-10-30" / "labeled-data"
    with VideoReader(real_file(OPENFIELD + "videos/m3v1mp4.mp4")) as video:
        frames = dict(video.read([12, 140, 905]))
    for folder, scale in (("m3v1mp4", 1.0), ("m4s1", 0.5)):
        (labelled / folder).mkdir(parents=True)
        names = []
        for index, frame in frames.items():
            name = f"img{index:04d}.png"
            cv2.imwrite(str(labelled / folder / name), cv2.resize(frame, None, fx=scale, fy=scale))
            names.append(f"labeled-data/{folder}/{name}")
        points = np.array([[300, 200, 290, 215, 310, 215, 300, 290]] * len(names), np.float64) * scale
        table = pd.DataFrame(points, index=names, columns=columns)
        table.to_hdf(labelled / folder / "CollectedData_Pranav.h5", key="df_with_missing", format="table", mode="w")
        table.to_csv(labelled / folder / "CollectedData_Pranav.csv")
    return labelled


def test_a_projects_labelled_data_gives_one_clip_per_video_folder_with_its_image_size(tmp_path):
    labelled = labelled_project(tmp_path)
    summary = convert(
        "dlc", [labelled], tmp_path / "labelled.h5", layout=str(real_file(OPENFIELD + "config.yaml")), progress=False
    )
    store = SkeletonStore(tmp_path / "labelled.h5")
    assert summary["clips"] == 2 and list(store.ids) == ["m3v1mp4", "m4s1"]
    assert [store[i].image_size for i in range(2)] == [(640, 480), (320, 240)]  # from the PNG headers
    np.testing.assert_array_equal(store[1].frame_index, [12, 140, 905])
    np.testing.assert_array_equal(store[1].keypoints[0, 0, 0], [150, 100])


def test_a_labelled_image_that_is_not_a_png_names_the_image(tmp_path):
    labelled = labelled_project(tmp_path)
    (labelled / "m4s1" / "img0012.png").write_bytes(b"GIF89a not a png at all")
    with pytest.raises(InputError, match=r"m4s1/img0012\.png: not a PNG image"):
        list(read_dlc([labelled / "m4s1" / "CollectedData_Pranav.h5"]).clips)
