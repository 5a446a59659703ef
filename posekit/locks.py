"""One writer per output: a second run on the same output stops at once, and what killed runs left is cleared.

``output_lock(OUTPUT, command)`` holds an exclusive ``flock`` on ``.NAME.lock`` beside OUTPUT. The OS releases it
when its process ends, killed or not, so a lock file left by a killed run is stale by construction and simply
taken over; the pid, host and command in the file only serve the message of the run that is refused."""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import socket
from contextlib import contextmanager, nullcontext
from pathlib import Path

from .errors import PosekitError

# tempfile's random part: 8 of [a-z0-9_]. Matching it exactly spares other files whose names merely start alike.
_RANDOM = r"[a-z0-9_]{8}"


def lock_path(output: str | Path) -> Path:
    output = Path(output)
    return output.parent / f".{output.name}.lock"


@contextmanager
def output_lock(output: str | Path, command: str):
    """Hold the lock on ``output`` for the block, after removing the temporaries of killed runs on it.

    Raises PosekitError before any work if another process holds it. The lock file goes when the block ends."""
    output = Path(output)
    if not output.parent.is_dir():
        raise PosekitError(f"{output}: folder {output.parent} does not exist")
    lock = lock_path(output)
    fd = _acquire(lock, output)
    try:
        os.write(fd, json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "command": command}).encode())
        remove_leftovers(output)
        yield
    finally:
        lock.unlink(missing_ok=True)  # before letting go, so no other run can lock the file being removed
        os.close(fd)


def work_dir_lock(work_dir: Path, command: str):
    """The lock of a training's work folder, so a second run into it stops at once. Under torchrun
    every rank runs the command: rank 0 takes the lock for them all (RANK is unset outside torchrun)."""
    if os.environ.get("RANK", "0") != "0":
        return nullcontext()
    work_dir = Path(os.path.abspath(work_dir))  # "." or "runs/.." name no folder to put the lock file beside
    try:  # the training would create it; the lock file lives there, beside the work folder
        work_dir.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise PosekitError(f"{work_dir}: cannot create folder {work_dir.parent} ({e.strerror})") from None
    return output_lock(work_dir, command)


def leftovers(output: str | Path) -> list[Path]:
    """Temporaries of runs on ``output``: ``.NAME.XXXXXXXX.tmp`` files or folders (posekit.store.atomic_path,
    StoreWriter), with OUTPUT's suffix added (video writers that pick the container by name), or made beside one
    of them (``..NAME.XXXXXXXX.tmp.XXXXXXXX.tmp``, from a StoreWriter that wrote into an atomic_path)."""
    output = Path(output)
    if not output.parent.is_dir():
        return []
    single = rf"\.{re.escape(output.name)}\.{_RANDOM}\.tmp"
    pattern = re.compile(rf"{single}({re.escape(output.suffix)})?|\.{single}\.{_RANDOM}\.tmp")
    return sorted(p for p in output.parent.iterdir() if pattern.fullmatch(p.name))


def remove_leftovers(output: str | Path) -> list[Path]:
    """Remove :func:`leftovers` of ``output`` (only safe while holding its lock); returns what was removed."""
    found = leftovers(output)
    for path in found:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
    return found


def _acquire(lock: Path, output: Path) -> int:
    """An open descriptor of ``lock`` holding its flock, the file emptied for this run's details."""
    while True:
        try:
            fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o666)
        except OSError as e:
            raise PosekitError(f"{output}: cannot create its lock file {lock} ({e.strerror})") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(fd)
            os.close(fd)
            raise PosekitError(f"another posekit {holder} is writing {output}") from None
        except OSError as e:
            os.close(fd)
            raise PosekitError(f"{output}: cannot lock {lock} ({e.strerror})") from None
        # The run before us removes the file before letting go: if we locked a removed file, lock the new one.
        try:
            if os.path.samestat(os.fstat(fd), os.stat(lock)):
                os.ftruncate(fd, 0)
                return fd
        except FileNotFoundError:
            pass
        os.close(fd)


def _holder(fd: int) -> str:
    """``extract (pid N)`` (``on HOST`` when another machine holds it) from the lock file, or ``run``."""
    try:
        holder = json.loads(os.pread(fd, 4096, 0))
        pid, host, command = int(holder["pid"]), str(holder["host"]), str(holder["command"])
    except (OSError, ValueError, KeyError, TypeError):  # being written this instant, or not ours
        return "run"
    where = "" if host == socket.gethostname() else f" on {host}"
    return f"{command} (pid {pid}{where})"
