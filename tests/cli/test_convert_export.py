import json
import subprocess
import sys

import numpy as np
from click.testing import CliRunner

from posekit.cli import main
from posekit.store import SkeletonStore
from tests.conftest import real_file


def run(*args):
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return result.output


def test_penn_action_to_pyskl_and_back(tmp_path):
    """A real dataset through convert -> export pyskl -> convert pyskl keeps joints, labels and splits."""
    labels = real_file("actions/penn_action/labels")
    sources = [labels / f"{i:04d}.mat" for i in (1, 2, 1500, 2000)]
    out = run("convert", "penn-action", *sources, "-o", tmp_path / "penn.h5", "--compression", "gzip")
    assert "converted 4 clips" in out
    run("store", "export", tmp_path / "penn.h5", "--format", "pyskl", "-o", tmp_path / "penn.pkl")
    run("convert", "pyskl", tmp_path / "penn.pkl", "-o", tmp_path / "back.h5", "--layout", "penn-13")
    first, back = SkeletonStore(tmp_path / "penn.h5"), SkeletonStore(tmp_path / "back.h5")
    assert list(first.ids) == list(back.ids) and list(first.labels) == list(back.labels)
    assert {k: list(v) for k, v in first.splits.items()} == {k: list(v) for k, v in back.splits.items()}
    for i in range(4):
        a, b = first[i], back[i]
        valid = ~np.isnan(a.keypoints)
        np.testing.assert_allclose(b.keypoints[valid], a.keypoints[valid], rtol=1e-6)


def test_format_choices_come_from_the_registries():
    from posekit.registry import EXPORTERS, IMPORTERS, names

    params = {p.name: p for p in main.commands["convert"].params}
    assert params["fmt"].type.choices == tuple(sorted(names(IMPORTERS)))
    export_params = {p.name: p for p in main.commands["store"].commands["export"].params}
    assert export_params["fmt"].type.choices == tuple(sorted(names(EXPORTERS)))
    assert "FORMAT: coco, csv, dlc, kinetics-skeleton, npz" in CliRunner().invoke(main, ["convert", "--help"]).output
    result = CliRunner().invoke(main, ["convert", "nope", "x", "-o", "out.h5"])
    assert result.exit_code == 2 and "Invalid value for 'FORMAT': 'nope' is not one of 'coco', 'csv'" in result.output
    result = CliRunner().invoke(main, ["store", "export", "in.h5", "--format", "nope", "-o", "out.pkl"])
    assert result.exit_code == 2 and "Invalid value for '--format': 'nope' is not 'pyskl'" in result.output


def test_top_level_help_reads_no_registry():
    """The choices are read on first use: `posekit --help` imports neither the registries nor numpy."""
    code = (
        "import sys\nfrom click.testing import CliRunner\nfrom posekit.cli import main\n"
        "assert CliRunner().invoke(main, ['--help']).exit_code == 0\n"
        "print(sorted(m for m in ('numpy', 'h5py', 'torch', 'posekit.registry') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_a_labs_kinect_npz_through_the_command_line(tmp_path):
    """The bring-your-own-data walk-through (docs/bring-your-own-data.md) on real N-UCLA joints written head first."""
    from tests.crafted import assert_one_line_error
    from tests.importers.test_arrays import HEAD_FIRST, head_first_npz

    folder, sequences = head_first_npz(tmp_path)
    store = tmp_path / "lab.h5"
    refused = CliRunner().invoke(main, ["convert", "npz", str(folder), "-o", str(store), "--layout", "kinect-v1-20"])
    assert_one_line_error(refused)
    assert "-O joint_names=FILE" in refused.output and "-O joint_order=layout" in refused.output
    unknown = CliRunner().invoke(main, ["convert", "npz", str(folder), "-o", str(store), "-O", "bogus=1"])
    assert_one_line_error(unknown)
    assert (
        "npz has no option bogus; its options: max_persons, fps, joint_names, joint_order, coordinates"
        in unknown.output
    )
    confirmed = CliRunner().invoke(
        main,
        [
            "convert",
            "npz",
            str(folder),
            "-o",
            str(store),
            "--layout",
            "kinect-v1-20",
            "-O",
            "joint_order=layout",
            "-O",
            "coordinates=metric",
        ],
    )
    assert confirmed.exit_code == 0 and confirmed.stdout.startswith(f"converted {len(sequences)} clips")
    [warning] = messages(confirmed.stderr)
    assert warning.startswith("warning: layout 'kinect-v1-20' may not fit the data: the head (head) is below")
    (tmp_path / "joints.txt").write_text("\n".join(HEAD_FIRST))
    named = CliRunner().invoke(
        main,
        [
            "convert",
            "npz",
            str(folder),
            "-o",
            str(store),
            "--layout",
            "kinect-v1-20",
            "-O",
            "joint_names=" + str(tmp_path / "joints.txt"),
            "-O",
            "coordinates=metric",
            "--force",
        ],
    )
    assert named.exit_code == 0 and messages(named.stderr) == []
    info = json.loads(run("store", "info", store, "--json"))
    assert info["coordinates"] == "metric" and info["layout"] == "kinect-v1-20"


def messages(stderr: str) -> list[str]:
    """The lines a command wrote to stderr, without the progress bar that the terminal overwrote."""
    return [line.rsplit("\r", 1)[-1] for line in stderr.split("\n") if line.rsplit("\r", 1)[-1].strip()]
