"""DDP on the CPU: ``posekit train unik --launcher pytorch`` under torchrun with 2 ranks (gloo)."""

import json
import math
import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from mmengine.hooks import Hook

from posekit import checkpoints
from posekit.cli import main
from posekit.registry import HOOKS
from posekit.store import SkeletonStore
from posekit.train import overrides

from .test_train import tiny_config

REPO = Path(__file__).resolve().parents[2]
WORLD_SIZE = 2


@HOOKS.register_module(force=True)
class RecordTrainingSamples(Hook):
    """Appends, after each training epoch, the clip ids this rank trained on and those of the whole training set
    to ``WORK_DIR/samples_rank<R>.jsonl``. The DDP run's config imports this module to register it."""

    def before_train_epoch(self, runner):
        self.ids = []

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        self.ids += data_batch["id"]

    def after_train_epoch(self, runner):
        dataset = runner.train_dataloader.dataset
        line = {"epoch": runner.epoch, "ids": self.ids, "dataset": [dataset.ids[i].decode() for i in dataset.indices]}
        with open(Path(runner.work_dir) / f"samples_rank{runner.rank}.jsonl", "a") as f:
            f.write(json.dumps(line) + "\n")


def ddp_config(tmp_path) -> Path:
    path = tmp_path / "ddp.py"
    path.write_text(
        f"_base_ = [{str(tiny_config(tmp_path))!r}]\n"
        f"custom_imports = dict(imports=[{__name__!r}], allow_failed_imports=False)\n"
        'custom_hooks = [dict(type="RecordTrainingSamples")]\n'
    )
    return path


def launch(store, config, work_dir, *options, program=("-m", "posekit.cli")) -> str:
    """``posekit train unik --launcher pytorch`` under torchrun, 2 ranks on the CPU; its output. ``program``: what
    torchrun starts with those arguments."""
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={WORLD_SIZE}"]
    command += [*program, "train", "unik", "--store", store, "--config", config, "--work-dir", work_dir]
    command += ["--launcher", "pytorch", "--holdout", "0.2", "--workers", "0", *options]
    python_path = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": "", "PYTHONPATH": python_path}
    # run from the work dir's parent: anything the ranks leave in their current folder shows there
    done = subprocess.run(
        [str(a) for a in command], cwd=work_dir.parent, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    return done.stdout


def epochs_of(work_dir: Path, rank: int) -> list[dict]:
    lines = (work_dir / f"samples_rank{rank}.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines]


def test_two_ranks_train_disjoint_shares_write_once_and_resume(sample_store, tmp_path):
    config, work = ddp_config(tmp_path), tmp_path / "run"
    out = launch(sample_store, config, work, "--epochs", "1")
    assert out.count("trained UNIK (joint, 1 epochs)") == 1  # rank 0 alone reports

    first = [epochs_of(work, rank) for rank in range(WORLD_SIZE)]
    assert [[e["epoch"] for e in ranks] for ranks in first] == [[0]] * WORLD_SIZE
    shares = [set(ranks[0]["ids"]) for ranks in first]
    training_set = first[0][0]["dataset"]
    share = math.ceil(len(training_set) / WORLD_SIZE)
    # DefaultSampler gives each rank every WORLD_SIZE-th clip of one shuffle, padded to equal shares by repeating
    # its first clips: together the ranks see the whole training set, and only the padding twice.
    assert set.union(*shares) == set(training_set)
    assert all(len(ranks[0]["ids"]) == share for ranks in first)
    assert len(shares[0] & shares[1]) <= share * WORLD_SIZE - len(training_set)

    assert list(work.rglob("metrics.json")) == [work / "metrics.json"]
    assert list(work.rglob("best.pth")) == [work / "best.pth"]
    assert not list(work.rglob("*.tmp")) and not (tmp_path / ".dist_test").exists()
    metrics = json.loads((work / "metrics.json").read_text())
    with SkeletonStore(sample_store) as store:
        test_ids = [str(store.ids[i]) for i in store.split("test")]
    assert metrics["test_split_clips"] == len(test_ids)
    with open(work / "scores.pkl", "rb") as f:
        scores = pickle.load(f)
    assert scores["ids"] == test_ids and len(scores["scores"]) == len(test_ids)  # both ranks' halves, in order

    launch(sample_store, config, work, "--epochs", "2", "--resume")
    resumed = [epochs_of(work, rank) for rank in range(WORLD_SIZE)]
    assert [[e["epoch"] for e in ranks] for ranks in resumed] == [[0, 1]] * WORLD_SIZE  # epoch 2 only, not 1 again
    assert json.loads((work / "metrics.json").read_text())["epochs"] == 2
    assert checkpoints.load(work / "epoch_2.pth")["meta"]["epoch"] == 2

    # The checkpoint names no launcher to the evaluation: eval runs in one process, outside torchrun.
    evaluated = CliRunner().invoke(
        main, ["eval", str(work / "best.pth"), "--store", str(sample_store), "--work-dir", str(tmp_path / "eval")]
    )
    assert evaluated.exit_code == 0, evaluated.output


GLOO_THREADS_AFTER_CLOSING = """
import os, sys
from posekit.cli import main
from posekit.train.overrides import _close_process_group
main(sys.argv[1:], standalone_mode=False)
_close_process_group()  # what the exit does
names = [open(f"/proc/self/task/{task}/comm").read().strip() for task in os.listdir("/proc/self/task")]
# One write per rank: print() writes its pieces one by one, which the two ranks interleave on the shared pipe.
sys.stdout.write(f"gloo threads left: {sorted(name for name in names if 'gloo' in name)}\\n")
sys.stdout.flush()
"""


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="thread names are read from /proc")
def test_closing_a_finished_run_stops_gloos_threads(sample_store, tmp_path):
    """A rank that exits with gloo's threads running can abort after its run finished (SIGABRT, 'terminate called
    without an active exception'): closing must stop them, though the finished Runner still holds the group."""
    script = tmp_path / "close.py"
    script.write_text(GLOO_THREADS_AFTER_CLOSING)
    out = launch(sample_store, tiny_config(tmp_path, epochs=1), tmp_path / "run", program=(script,))
    assert out.count("gloo threads left: []") == WORLD_SIZE, out


def test_launcher_pytorch_outside_torchrun_says_how_to_launch(sample_store, tmp_path, monkeypatch):
    monkeypatch.delenv("RANK", raising=False)
    arguments = ["train", "unik", "--store", sample_store, "--config", tiny_config(tmp_path)]
    arguments += ["--work-dir", tmp_path / "run", "--launcher", "pytorch"]
    result = CliRunner().invoke(main, [str(a) for a in arguments])
    assert result.exit_code != 0 and "torchrun --nproc-per-node N" in result.output
    assert len(result.output.strip().splitlines()) == 1


@pytest.mark.parametrize("main_process", [True, False])
def test_only_the_main_process_writes_metrics(tmp_path, monkeypatch, main_process):
    monkeypatch.setattr(overrides, "is_main_process", lambda: main_process)
    path = overrides.write_metrics(tmp_path, {"top1": 50.0})
    assert path == tmp_path / "metrics.json" and path.is_file() == main_process


def test_streams_under_ddp_train_each_stream_on_both_ranks_and_fuse_once(sample_store, tmp_path):
    """--streams under torchrun: every rank trains every stream (rank 0 writes each), the ranks wait for rank 0's
    scores before the next stream, and one fusion is written and reported."""
    work = tmp_path / "streams"
    out = launch(sample_store, ddp_config(tmp_path), work, "--epochs", "1", "--streams", "joint,bone")
    assert out.count("stream joint ->") == out.count("stream bone ->") == 1 and out.count("fused 2 streams") == 1
    for stream in ("joint", "bone"):
        assert [len(epochs_of(work / stream, rank)) for rank in range(WORLD_SIZE)] == [1, 1]
        assert (work / stream / "metrics.json").is_file() and (work / stream / "scores.pkl").is_file()
    summary = json.loads((work / "metrics.json").read_text())
    with SkeletonStore(sample_store) as store:
        assert summary["clips"] == len(store.split("test")) and set(summary["streams"]) == {"joint", "bone"}
    assert not list(work.rglob("*.tmp"))
