"""``posekit demo``: the pipeline on a sample the project generates, offline."""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import PosekitError
from ..outputs import force_option, refuse_existing


@click.command()
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    default=Path("posekit-demo"),
    show_default=True,
    help="Folder for the demo's outputs.",
)
@click.option("--no-train", is_flag=True, help="Stop after building the store.")
@force_option("Write into OUTPUT even if it holds files (an earlier demo's are replaced).")
def demo(output, no_train, force):
    """Run the pipeline on a sample the project generates, offline."""
    from ..demo import run

    if output.exists() and not output.is_dir():  # not replaced even under --force: it is no earlier demo's
        raise PosekitError(f"{output}: exists and is not a folder; the demo writes its outputs into a folder")
    refuse_existing(*output.glob("*"), force=force)  # an empty folder is as good as a new one
    run(output, train=not no_train)


COMMANDS = (demo,)
