"""tools/bench_pretrain.py: the grid's jobs train each arm's encoder with the right command and evaluate it from
that encoder's checkpoint; Table 6.7's arms (T-MOR with and without text, cross-entropy) join the same grid."""

import pytest

from tests.conftest import load_tool


@pytest.fixture(scope="module")
def tool():
    return load_tool("bench_pretrain")


@pytest.fixture
def jobs_of(tool, tmp_path, monkeypatch):
    """The jobs main() would run for these options, by name (nothing is run)."""

    def jobs(*options):
        captured = {}
        monkeypatch.setattr(tool, "run_grid", lambda jobs, parallel: captured.setdefault("jobs", jobs))
        tool.main(["--store", "s.h5", "--out", str(tmp_path), "--evaluations", "linear", *options])
        return {job.name: job for job in captured["jobs"]}

    return jobs


def option(argv, name):
    return argv[argv.index(name) + 1] if name in argv else None


def test_table_6_7_arms_train_tmor_with_and_without_text_and_a_classifier(jobs_of, tmp_path):
    jobs = jobs_of("--positives", "", "--tmor", "frozen", "--supervised", "--pretrain-epochs", "5")
    assert set(jobs) == {
        "pretrain-tmor-motion", "pretrain-tmor-text", "pretrain-supervised",
        "linear-scratch", "linear-tmor-motion", "linear-tmor-text", "linear-supervised",
    }  # fmt: skip
    motion, text = jobs["pretrain-tmor-motion"].argv, jobs["pretrain-tmor-text"].argv
    assert motion[motion.index("train") + 1] == text[text.index("train") + 1] == "tmor"
    assert option(motion, "--text-weight") == "0" and option(text, "--text-weight") is None
    assert option(motion, "--text-head") == option(text, "--text-head") == "frozen"
    supervised = jobs["pretrain-supervised"].argv
    assert supervised[supervised.index("train") + 1] == "unik" and option(supervised, "--epochs") == "5"
    assert "--linear" not in supervised and option(supervised, "--init") is None
    for arm in ("tmor-motion", "tmor-text", "supervised"):
        linear = jobs[f"linear-{arm}"]
        assert linear.needs == [f"pretrain-{arm}"] and "--linear" in linear.argv
        assert option(linear.argv, "--init") == str(tmp_path / f"pretrain-{arm}" / "best.pth")
    assert jobs["linear-scratch"].needs == [] and option(jobs["linear-scratch"].argv, "--init") is None


def test_the_generator_is_asked_for_only_by_the_arms_that_use_it(jobs_of, capsys):
    jobs = jobs_of("--positives", "augment")
    assert option(jobs["pretrain-augment"].argv, "--generator") is None
    with pytest.raises(SystemExit):
        jobs_of("--positives", "augment,compose")
    assert "--generator is needed" in capsys.readouterr().err
    jobs = jobs_of("--positives", "compose", "--generator", "g.pth")
    assert option(jobs["pretrain-compose"].argv, "--generator") == "g.pth"


def test_table_4_7_ablation_segments_from_the_arms_asked_and_a_sequence_only_encoder(jobs_of):
    jobs = jobs_of("--positives", "augment", "--segment-store", "u.h5", "--evaluations", "")
    assert set(jobs) == {
        "pretrain-augment", "pretrain-augment-sequence",
        "segment-scratch", "segment-augment", "segment-augment-sequence",
    }  # fmt: skip
    assert option(jobs["pretrain-augment-sequence"].argv, "--frame-weight") == "0"
    assert option(jobs["pretrain-augment"].argv, "--frame-weight") is None
    segment = jobs["segment-augment-sequence"]
    assert option(segment.argv, "--store") == "u.h5" and segment.needs == ["pretrain-augment-sequence"]


def test_a_run_finished_meanwhile_is_skipped_and_frees_the_jobs_after_it(tool, tmp_path, monkeypatch):
    ran = []

    def run_job(job):  # "other" also finishes "shared", as a second grid writing a linked work dir would
        ran.append(job.name)
        for name in [job.name] + (["shared"] if job.name == "other" else []):
            (tmp_path / name).mkdir(exist_ok=True)
            (tmp_path / name / "metrics.json").write_text("{}")
        return job, 0, 0.0

    monkeypatch.setattr(tool, "run_job", run_job)
    jobs = [
        tool.Job("other", [], tmp_path / "other"),
        tool.Job("shared", [], tmp_path / "shared"),
        tool.Job("after", [], tmp_path / "after", needs=["shared"]),
    ]
    tool.run_grid(jobs, parallel=1)
    assert ran == ["other", "after"]


def test_only_runs_the_cells_named_and_the_encoders_they_need(jobs_of):
    options = ("--positives", "augment,retarget", "--generator", "g.pth", "--evaluations", "linear,fraction")
    jobs = jobs_of(*options, "--only", "linear-retarget,fraction-scratch")
    assert set(jobs) == {"pretrain-retarget", "linear-retarget", "fraction-scratch"}
    with pytest.raises(SystemExit, match="--only linear-compose: no such run"):
        jobs_of(*options, "--only", "linear-compose")
