"""tools/bench_streams.py: the stream grid's commands name configs that exist, and a short real run fills its table
from the runs' own metrics."""

import json

import pytest

from tests.conftest import REPO, load_tool
from tests.train.conftest import sample_store  # noqa: F401  (the training tests' 24-clip COCO-17 store)


@pytest.fixture(scope="module")
def tool():
    return load_tool("bench_streams")


def test_every_command_names_a_config_of_the_zoo(tool, capsys, tmp_path):
    tool.main(["--store", "nw-ucla=u.h5", "--store", "penn-action=p.h5", "--out", str(tmp_path), "--dry-run"])
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 6 and not (tmp_path / "table.md").exists()
    for line in lines:
        words = line.split()
        config = words[words.index("--config") + 1]
        assert (REPO / "models" / config).is_file(), config
        streams = words[words.index("--streams") + 1].split(",")
        assert len(streams) == (2 if words[2] == "stgcn" else 4)


def test_a_short_grid_trains_each_stream_and_tables_them(tool, sample_store, tmp_path, capsys):  # noqa: F811
    out = tmp_path / "grid"
    arguments = ["--store", f"penn-action={sample_store}", "--out", str(out), "--models", "stgcn", "--epochs", "1"]
    tool.main(arguments + ["--workers", "0"])
    run = out / "penn-action" / "stgcn"
    fused = json.loads((run / "metrics.json").read_text())
    joint = json.loads((run / "joint" / "metrics.json").read_text())
    row = (out / "table.md").read_text().splitlines()[2].split("|")
    assert row[3].strip() == f"{joint['top1']:.1f}" and row[7].strip() == f"{fused['top1']:.1f}"
    assert row[5].strip() == "" and "penn-action" in row[1]  # ST-GCN trains joint and bone only
    assert "-> " + str(out / "table.md") in capsys.readouterr().out
    mtime = (run / "metrics.json").stat().st_mtime
    tool.main(arguments)  # finished: skipped
    assert (run / "metrics.json").stat().st_mtime == mtime


def test_an_unknown_dataset_is_refused(tool, tmp_path):
    with pytest.raises(SystemExit, match="DATASET one of nw-ucla, penn-action"):
        tool.main(["--store", "ntu=x.h5", "--out", str(tmp_path)])
