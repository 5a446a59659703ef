"""tools/bench_tmor.py: which splits a command names, and the table's per-split cells, mean and spread."""

import pytest

from tests.conftest import load_tool


@pytest.fixture(scope="module")
def tool():
    return load_tool("bench_tmor")


def test_splits_are_a_count_or_a_list_of_seeds(tool):
    assert tool.split_seeds("3") == [0, 1, 2]
    assert tool.split_seeds("3,4") == [3, 4]
    assert tool.split_seeds("4,") == [4]


def test_table_gives_each_split_then_mean_and_sample_sd(tool):
    def split(zero_shot: float, few_shot: float) -> dict:
        figures = {}
        for model in ("tmor", "unik"):  # the mlp text head's work dir is "tmor"
            figures[(model, "zeroshot")] = {"top1": zero_shot + 10, "mean_class_acc": zero_shot}
            for shots in ("1-shot", "5-shot"):
                figures[(model, shots)] = {"top1_mean": few_shot + 10, "mean_class_acc_mean": few_shot}
        return {"figures": figures}

    rows = tool.table([split(20.0, 40.0), split(30.0, 50.0)], [3, 4], text_heads="mlp").splitlines()
    assert rows[0].count("split 3") == 1 and rows[0].count("split 4") == 1
    zero_shot = next(row for row in rows if row.startswith("| UNIK") and "zero-shot" in row)
    cells = [cell.strip() for cell in zero_shot.strip("|").split("|")]
    # 20 and 30: mean 25, sample sd sqrt(((20-25)^2 + (30-25)^2) / 1) = 7.07; top-1 mean (30 + 40) / 2 = 35
    assert cells[2:] == ["20.0", "30.0", "25.0 ± 7.1", "35.0"]
    five_shot = next(row for row in rows if row.startswith("| UNIK") and "5-shot" in row)
    assert [cell.strip() for cell in five_shot.strip("|").split("|")][2:] == ["40.0", "50.0", "45.0 ± 7.1", "55.0"]
