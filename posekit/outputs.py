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


def force_option(help: str = FORCE_HELP):
    """The ``--force`` flag of every command that writes a file."""
    return click.option("--force", is_flag=True, help=help)
