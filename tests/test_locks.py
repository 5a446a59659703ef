"""posekit.locks: one run per output at a time, stale locks of killed runs taken over, killed runs' temporaries
cleared. The other run is a real process: the lock is the OS's, per process."""

import os
import signal
import subprocess
import sys

import pytest

from posekit.errors import PosekitError
from posekit.locks import leftovers, lock_path, output_lock

# A child that takes the lock on argv[1], says so, then waits for its stdin to close (or for SIGKILL).
HOLDER = """
import sys
from posekit.locks import output_lock
with output_lock(sys.argv[1], sys.argv[2]):
    print("locked", flush=True)
    sys.stdin.read()
"""


class Holder:
    """A process holding ``output_lock(output, command)`` until :meth:`release` or :meth:`kill`."""

    def __init__(self, output, command="extract"):
        self.process = subprocess.Popen(
            [sys.executable, "-c", HOLDER, str(output), command],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout.readline() == "locked\n"
        self.pid = self.process.pid

    def release(self):
        self.process.stdin.close()
        assert self.process.wait(timeout=60) == 0

    def kill(self):
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=60)


@pytest.fixture
def holder(tmp_path):
    made = []
    yield lambda *args: made.append(Holder(*args)) or made[-1]
    for h in made:
        if h.process.poll() is None:
            h.kill()


def test_a_second_run_stops_at_once_naming_the_first(tmp_path, holder):
    output = tmp_path / "p.h5"
    first = holder(output, "extract")
    entered = []
    with pytest.raises(PosekitError) as error:
        with output_lock(output, "extract"):
            entered.append(True)
    assert str(error.value) == f"another posekit extract (pid {first.pid}) is writing {output}"
    assert not entered and lock_path(output).is_file()  # the holder's lock is left alone
    first.release()
    assert not lock_path(output).exists()  # removed when its holder is done
    with output_lock(output, "refine"):
        assert lock_path(output).is_file()
    assert not lock_path(output).exists()


def test_the_lock_of_a_killed_run_is_taken_over(tmp_path, holder):
    output = tmp_path / "p.h5"
    holder(output).kill()
    assert str(os.getpid()) not in lock_path(output).read_text()  # left behind, naming the dead process
    with output_lock(output, "extract"):
        assert f'"pid": {os.getpid()}' in lock_path(output).read_text()
    assert not lock_path(output).exists()


def test_the_lock_file_goes_when_the_run_fails(tmp_path):
    output = tmp_path / "p.h5"
    with pytest.raises(ValueError):
        with output_lock(output, "extract"):
            raise ValueError("a bad input")
    assert list(tmp_path.iterdir()) == []


def test_leftover_temporaries_of_the_output_are_removed_and_nothing_else(tmp_path):
    output = tmp_path / "p.h5"
    ours = [".p.h5.abcd_123.tmp", "..p.h5.abcd_123.tmp.x9y8z7w6.tmp", ".p.h5.q1w2e3r4.tmp.h5"]
    others = ["p.h5", ".p.h5.parts", ".p.h5.x.h5.abcd_123.tmp", ".q.h5.abcd_123.tmp", ".p.h5.my-notes.tmp"]
    for name in ours[1:] + others:
        (tmp_path / name).write_text("x")
    (tmp_path / ours[0]).mkdir()  # a folder a killed run was building the output in
    (tmp_path / ours[0] / "p.h5").write_text("x")
    assert [p.name for p in leftovers(output)] == sorted(ours)
    with output_lock(output, "refine"):
        assert sorted(p.name for p in tmp_path.iterdir()) == sorted(others + [".p.h5.lock"])
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(others)


def test_an_output_in_a_missing_folder_is_one_line(tmp_path):
    with pytest.raises(PosekitError, match=f"^{tmp_path / 'no' / 'p.h5'}: folder {tmp_path / 'no'} does not exist$"):
        with output_lock(tmp_path / "no" / "p.h5", "extract"):
            pass


# Each training command, its work folder at {work}; the store and inputs need not exist: the lock comes first.
TRAININGS = {
    "train unik": ["train", "unik", "--store", "{tmp}/s.h5", "--work-dir", "{work}"],
    "train stgcn": ["train", "stgcn", "--store", "{tmp}/s.h5", "--work-dir", "{work}", "--resume"],
    "train dmsd": ["train", "dmsd", "--store", "{tmp}/s.h5", "--work-dir", "{work}"],
    "train lstm-selfsup": ["train", "lstm-selfsup", "--store", "{tmp}/file", "--work-dir", "{work}"],
    "eval": ["eval", "{tmp}/file", "--store", "{tmp}/s.h5", "--work-dir", "{work}"],
}


@pytest.mark.parametrize("command", TRAININGS)
def test_a_second_training_into_a_work_folder_stops_at_once_naming_the_first(tmp_path, holder, command):
    from click.testing import CliRunner

    from posekit.cli import main

    work = tmp_path / "run"
    work.mkdir()
    (work / "epoch_1.pth").write_text("the first run's checkpoint")
    (tmp_path / "file").write_text("x")
    args = [a.format(tmp=tmp_path, work=work) for a in TRAININGS[command]]
    first = holder(work, "train unik")
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2
    assert result.output == f"posekit: error: another posekit train unik (pid {first.pid}) is writing {work}\n"
    first.release()
    after = CliRunner().invoke(main, args)  # now it goes on, to the missing store or the unreadable file
    assert after.exit_code == 2 and "is writing" not in after.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file", "run"]  # the lock file beside it went
    assert [p.name for p in work.iterdir()] == ["epoch_1.pth"]
