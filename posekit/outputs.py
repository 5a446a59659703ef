"""The one rule for files a command writes: an existing output is replaced only when the user says ``--force``."""

from __future__ import annotations

from pathlib import Path

import click

from .errors import PosekitError

FORCE_HELP = "Replace OUTPUT if it exists."


def refuse_existing(*paths: str | Path | None, force: bool) -> None:
    """Stop with one line naming the first of ``paths`` that exists, unless ``force``; None entries are skipped."""
    if force:
        return
    for path in paths:
        if path is not None and Path(path).exists():
            raise PosekitError(f"{path}: exists; use --force to replace it or choose another -o")


def check_file_path(path: str | Path, error: type[PosekitError] = PosekitError) -> Path:
    """``path`` as a Path, once a file can be created there: not a folder, in a folder that exists; else ``error``
    (the caller's kind: an input of extract, a store write...). Commands check their output with it before any
    work, so a typo in -o costs nothing."""
    path = Path(path)
    if path.is_dir():
        raise error(f"{path}: is a folder, expected a file path")
    if not path.parent.is_dir():
        raise error(f"{path}: folder {path.parent} does not exist")
    return path


def force_option(help: str = FORCE_HELP):
    """The ``--force`` flag of every command that writes a file."""
    return click.option("--force", is_flag=True, help=help)
