"""The ``posekit`` command: one module per command group, each importing its heavy modules inside its commands
so that ``posekit --help`` stays instant."""

from __future__ import annotations

import sys

import click

from pose_refine.errors import RefineError

from .. import __version__
from ..errors import PosekitError
from . import demo, deploy, extract, models, motion, refine, rodent, show, store, synth, text, tmor, train


class _Group(click.Group):
    """Reports a user-fixable error as one line and exit status 2, instead of a traceback."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except (PosekitError, RefineError) as e:  # RefineError: pose_refine's algorithms refused their input
            click.echo(f"posekit: error: {e}", err=True)
            sys.exit(2)
        except KeyboardInterrupt:
            click.echo("posekit: interrupted; nothing half-written was left behind", err=True)
            sys.exit(130)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="posekit")
def main():
    """posekit: skeleton stores, importers, pose extraction and skeleton action models."""


for _module in (store, text, extract, refine, show, train, deploy, tmor, synth, motion, rodent, models, demo):
    for _command in _module.COMMANDS:
        main.add_command(_command)
