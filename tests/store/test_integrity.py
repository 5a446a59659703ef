"""A damaged or invalid store is always caught: chunk checksums, structural checks on open, validate --deep.

Crafted stores are copies of a good store edited with h5py; damaged ones have one bit flipped inside a keypoint
chunk, found with h5py's low-level chunk index."""

import shutil
import struct
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch
from click.testing import CliRunner

from posekit.cli import main
from posekit.data import StoreDataset, collate_clips
from posekit.errors import InputError, PosekitError
from posekit.store import Clip, SkeletonStore, StoreError, StoreWriter
from posekit.store.validate import validate
from tests.crafted import assert_one_line_error

CHUNK = 16  # frames per chunk: clip 2 (frames 40..59) owns chunk 48..63 with clip 3 (60..79)
DAMAGED_FRAME = 50


def build(path, **kw):
    rng = np.random.default_rng(0)
    with StoreWriter(path, "coco-17", coord_dims=2, classes=["a", "b"], chunk_frames=CHUNK, **kw) as w:
        for i in range(8):
            w.add(
                Clip(
                    id=f"c{i}",
                    keypoints=rng.uniform(0, 100, size=(20, 1, 17, 2)),
                    label=i % 2,
                    image_size=(100, 100),
                    splits=("train" if i < 6 else "test",),
                )
            )
    return path


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    return build(tmp_path_factory.mktemp("good") / "good.h5")


@pytest.fixture(scope="module")
def other(tmp_path_factory):
    """A good store whose clip ids differ from ``good``'s, to merge with."""
    path = tmp_path_factory.mktemp("other") / "other.h5"
    with StoreWriter(path, "coco-17", coord_dims=2, classes=["a"]) as w:
        w.add(Clip(id="z", keypoints=np.ones((3, 1, 17, 2)), label=0))
    return path


@pytest.fixture(scope="module")
def checkpoint(good, tmp_path_factory):
    """A model trained one epoch on the good store, for predict and eval."""
    work = tmp_path_factory.mktemp("run")
    result = CliRunner().invoke(
        main,
        [
            "train",
            "unik",
            "--store",
            str(good),
            "--work-dir",
            str(work),
            "--epochs",
            "1",
            "--workers",
            "0",
            "--batch-size",
            "4",
            "--holdout",
            "0",
        ],
    )
    assert result.exit_code == 0, result.output
    return work / "best.pth"


def flip_bit(path, dataset="frames/keypoints", frame=DAMAGED_FRAME):
    """Flip one bit in the middle of the stored (compressed) chunk that holds ``frame``."""
    with h5py.File(path, "r") as f:
        ds = f[dataset]
        coord = (frame // ds.chunks[0] * ds.chunks[0],) + (0,) * (ds.ndim - 1)
        chunk = ds.id.get_chunk_info_by_coord(coord)
    position = chunk.byte_offset + chunk.size // 2
    with open(path, "r+b") as fh:
        fh.seek(position)
        byte = fh.read(1)[0]
        fh.seek(position)
        fh.write(bytes([byte ^ 0x10]))
    return path


def damaged(good, tmp_path):
    return flip_bit(shutil.copyfile(good, tmp_path / "damaged.h5"))


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


# -- checksums ------------------------------------------------------------------------------------------------
def test_every_numeric_dataset_carries_checksums_and_a_flipped_bit_fails_its_read(good, tmp_path):
    with h5py.File(good) as f:
        numeric = []
        f.visititems(
            lambda name, ds: (
                numeric.append(ds) if isinstance(ds, h5py.Dataset) and not h5py.check_string_dtype(ds.dtype) else None
            )
        )
        assert numeric and all(ds.fletcher32 for ds in numeric), [ds.name for ds in numeric if not ds.fletcher32]
    path = damaged(good, tmp_path)
    store = SkeletonStore(path)  # the clip table is intact: opening works
    np.testing.assert_array_equal(store[0].keypoints, SkeletonStore(good)[0].keypoints)  # other chunks read
    for index in (2, 3):  # both clips in the damaged chunk
        with pytest.raises(StoreError) as error:
            store[index]
        message = str(error.value)
        assert str(path) in message and "frames/keypoints" in message and f"'c{index}'" in message
        assert "\n" not in message


def test_a_damaged_clip_table_is_refused_on_opening_naming_the_dataset(good, tmp_path):
    path = flip_bit(shutil.copyfile(good, tmp_path / "table.h5"), "clips/offset", frame=0)
    with pytest.raises(StoreError, match=r"table.h5: invalid store: clips/offset: damaged or truncated data"):
        SkeletonStore(path)
    assert_one_line_error(run("store", "export", path, "-o", tmp_path / "x.pkl"))
    problems = validate(path)
    assert len(problems) == 1 and problems[0].startswith(f"{path}: clips/offset: damaged or truncated data")


def test_a_damaged_chunk_stays_one_line_across_dataloader_workers(good, tmp_path):
    """torch re-raises a worker's StoreError with the worker's traceback as its message; it must stay one line."""
    loader = torch.utils.data.DataLoader(
        StoreDataset(damaged(good, tmp_path)), batch_size=2, num_workers=1, collate_fn=collate_clips
    )
    with pytest.raises(StoreError) as error:
        list(loader)
    assert "\n" not in str(error.value) and str(error.value).startswith(str(tmp_path / "damaged.h5"))


class Failing(torch.utils.data.Dataset):
    """Every item raises ``error``, as a reader of a bad file does inside a worker."""

    def __init__(self, error):
        self.error = error

    def __len__(self):
        return 2

    def __getitem__(self, index):
        raise self.error


@pytest.mark.parametrize(
    "error", [InputError("rows.csv: row 3 has 2 columns, expected 4"), PosekitError("--window must be at least 1")]
)
def test_any_posekit_error_stays_one_line_across_dataloader_workers(error):
    with pytest.raises(type(error)) as raised:
        next(iter(torch.utils.data.DataLoader(Failing(error), num_workers=1)))
    assert str(raised.value) == str(error)


def test_validate_reports_the_damaged_chunk_and_deep_names_the_clips(good, tmp_path):
    path = damaged(good, tmp_path)
    problems = validate(path)
    assert len(problems) == 1 and "frames/keypoints: damaged data" in problems[0] and "c2, c3" in problems[0]
    scores = flip_bit(shutil.copyfile(good, tmp_path / "scores.h5"), "frames/scores", frame=5)
    assert validate(scores) == []  # plain validate reads keypoints only
    deep = validate(scores, deep=True)
    assert len(deep) == 1 and "frames/scores: damaged data in 1 clips: c0" in deep[0]
    result = run("store", "validate", "--deep", scores)
    assert result.exit_code == 1 and "c0" in result.output and "Traceback" not in result.output


def test_predict_and_merge_on_a_damaged_store_end_with_one_line(good, checkpoint, tmp_path):
    path = damaged(good, tmp_path)
    result = run("predict", checkpoint, path)
    assert_one_line_error(result)
    assert "frames/keypoints" in result.output and "damaged" in result.output
    renamed = shutil.copyfile(good, tmp_path / "renamed.h5")  # ids that do not clash with the good store's
    with h5py.File(renamed, "r+") as f:
        f["clips/id"][:] = np.array([f"d{i}" for i in range(8)], dtype=object)
    result = run("store", "merge", good, flip_bit(renamed), "-o", tmp_path / "merged.h5")
    assert_one_line_error(result)
    assert "damaged" in result.output and not (tmp_path / "merged.h5").exists()


def test_training_on_a_damaged_store_ends_with_one_line(good, tmp_path):
    """A real process with a DataLoader worker: the error crosses the worker boundary."""
    path = damaged(good, tmp_path)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "posekit.cli",
            "train",
            "unik",
            "--store",
            str(path),
            "--work-dir",
            str(tmp_path / "run"),
            "--epochs",
            "1",
            "--workers",
            "1",
            "--batch-size",
            "4",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 2, done.stderr[-2000:]
    assert "Traceback" not in done.stderr + done.stdout
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("posekit: error: ") and "frames/keypoints" in lines[0]


def without_checksums(source, target):
    """The store as posekit wrote it before chunk checksums: the same datasets, chunks and compression."""
    with h5py.File(source) as src, h5py.File(target, "w") as dst:
        dst.attrs.update(src.attrs)
        del dst.attrs["allow_empty"]

        def copy(name, obj):
            if isinstance(obj, h5py.Group):
                dst.require_group(name)
                return
            dst.create_dataset(
                name,
                data=obj[()],
                dtype=obj.dtype,
                chunks=obj.chunks,
                maxshape=obj.maxshape,
                compression=obj.compression,
                fillvalue=obj.fillvalue,
            )

        src.visititems(copy)
    return target


def test_a_store_written_before_checksums_still_reads_and_validates(good, tmp_path):
    old = without_checksums(good, tmp_path / "old.h5")
    with h5py.File(old) as f:
        assert not f["frames/keypoints"].fletcher32
    np.testing.assert_array_equal(SkeletonStore(old)[5].keypoints, SkeletonStore(good)[5].keypoints)
    assert validate(old, deep=True) == []


def test_merge_output_carries_checksums(good, tmp_path):
    other = tmp_path / "other.h5"
    with StoreWriter(other, "coco-17", coord_dims=2, classes=["c"]) as w:
        w.add(Clip(id="z", keypoints=np.ones((3, 2, 17, 2)), label=0, features={"v": np.ones(3)}))
    assert run("store", "merge", good, other, "-o", tmp_path / "m.h5").exit_code == 0
    with h5py.File(tmp_path / "m.h5") as f:
        assert f["frames/keypoints"].fletcher32 and f["features/v"].fletcher32 and f["splits/train"].fletcher32
    assert validate(tmp_path / "m.h5", deep=True) == []


# -- what the writer refuses -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "value, problem", [(np.inf, "infinite coordinates"), (np.nan, "no person has a single valid joint")]
)
def test_validate_refuses_stored_clips_the_writer_refuses(good, tmp_path, value, problem):
    path = shutil.copyfile(good, tmp_path / "s.h5")
    with h5py.File(path, "r+") as f:
        kp = f["frames/keypoints"]
        if np.isinf(value):  # one coordinate of clip c1 (frames 20..39)
            kp[23, 0, 4, 0] = value
        else:  # every joint of clip c1
            kp[20:40] = value
    problems = validate(path)
    assert len(problems) == 1 and problem in problems[0] and ": c1" in problems[0], problems
    result = run("store", "validate", path)
    assert result.exit_code == 1 and problem in result.output


def test_empty_clips_pass_where_the_writer_allowed_them(tmp_path):
    with StoreWriter(tmp_path / "e.h5", "coco-17", coord_dims=2, allow_empty=True) as w:
        w.add(Clip(id="empty", keypoints=np.full((4, 1, 17, 2), np.nan)))
        w.add(Clip(id="none", keypoints=np.zeros((0, 1, 17, 2))))
    assert validate(tmp_path / "e.h5") == []
    with h5py.File(tmp_path / "e.h5", "r+") as f:
        f.attrs["allow_empty"] = False
    problems = validate(tmp_path / "e.h5")
    assert any("zero frames): none" in p for p in problems) and any("joint): empty" in p for p in problems)


# -- invalid structure: refused at the door --------------------------------------------------------------------
def _edit(path, change):
    with h5py.File(path, "r+") as f:
        change(f)


def _truncate(path):
    """Cut the file's last 2 KiB (object headers) and fix the end-of-file address, so HDF5 opens what is left."""
    data = bytearray(Path(path).read_bytes()[:-2048])
    assert data[8] == 0  # superblock version 0: the end-of-file address is at byte 40
    data[40:48] = struct.pack("<Q", len(data))
    Path(path).write_bytes(bytes(data))


def _set_attr(name, value):
    return lambda path: _edit(path, lambda f: f.attrs.__setitem__(name, value))


DEFECTS = {
    "offsets that do not tile": (lambda p: _edit(p, lambda f: f["clips/offset"].__setitem__(1, 21)), "do not tile"),
    "duplicate ids": (lambda p: _edit(p, lambda f: f["clips/id"].__setitem__(1, "c0")), "duplicate clip ids: c0"),
    "label 99": (lambda p: _edit(p, lambda f: f["clips/label"].__setitem__(4, 99)), "outside the 2 classes"),
    "coords mismatch": (_set_attr("coord_dims", 3), "attribute coord_dims is 3"),
    "missing dataset": (lambda p: _edit(p, lambda f: f["clips"].__delitem__("length")), "'length' is a required"),
    "garbage layout": (_set_attr("layout", "{not json"), "attribute layout is not a valid layout"),
    "garbage provenance": (_set_attr("provenance", "[{"), "provenance is not a JSON list"),
    "truncated file": (_truncate, "damaged or truncated"),
}


@pytest.fixture(params=list(DEFECTS))
def invalid(request, good, tmp_path):
    path = shutil.copyfile(good, tmp_path / "invalid.h5")
    craft, problem = DEFECTS[request.param]
    craft(path)
    return path, problem


def test_validate_reports_each_defect_as_a_problem_line(invalid):
    path, problem = invalid
    result = run("store", "validate", path)
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert problem in result.output, result.output


def test_info_reports_each_defect_instead_of_refusing(invalid):
    path, problem = invalid
    result = run("store", "info", path)
    assert result.exit_code in (1, 2) and "Traceback" not in result.output
    last = result.output.strip().splitlines()[-1]
    assert last.startswith(("problems: ", "posekit: error: ")) and "posekit store validate" in last
    assert problem in last, last


def test_reading_commands_refuse_each_defect_in_one_line(invalid, other, checkpoint, tmp_path):
    path, _ = invalid
    for args in (
        ["predict", checkpoint, path],
        ["eval", checkpoint, "--store", path, "--work-dir", tmp_path / "eval"],
        ["train", "unik", "--store", path, "--work-dir", tmp_path / "run", "--epochs", "1", "--workers", "0"],
        ["store", "export", path, "-o", tmp_path / "x.pkl"],
        ["store", "merge", path, other, "-o", tmp_path / "m1.h5"],
        ["store", "merge", other, path, "-o", tmp_path / "m2.h5"],
    ):
        result = run(*args)
        assert_one_line_error(result)
        assert "invalid.h5" in result.output, (args, result.output)
    assert not any((tmp_path / name).exists() for name in ("x.pkl", "m1.h5", "m2.h5"))


def test_info_on_a_store_with_a_wrong_label_still_summarises_it(good, tmp_path):
    path = shutil.copyfile(good, tmp_path / "s.h5")
    _edit(path, lambda f: f["clips/label"].__setitem__(4, 99))
    result = run("store", "info", path)
    lines = result.output.strip().splitlines()
    assert result.exit_code == 1 and "8 clips, 160 frames" in lines[0]
    assert lines[-1] == (
        f"problems: 1 clip labels outside the 2 classes (e.g. clip 'c4' has 99) "
        f"(posekit store validate {path} lists all)"
    )
    with pytest.raises(StoreError, match="invalid store: 1 clip labels outside .*`posekit store validate"):
        SkeletonStore(path)


# -- existing outputs ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("command", ["merge", "export"])
def test_merge_and_export_refuse_an_existing_output_without_force(good, other, tmp_path, command):
    output = tmp_path / "precious.txt"
    output.write_text("not yours")
    args = ["store", "merge", good, other] if command == "merge" else ["store", "export", good]
    assert_one_line_error(run(*args, "-o", output))
    assert output.read_text() == "not yours"
    assert run(*args, "-o", output, "--force").exit_code == 0 and output.read_bytes() != b"not yours"
