"""``posekit rodent ...``: the rodent branch's commands, gathered from the modules that define them."""
from __future__ import annotations

import importlib

import click


@click.group()
def rodent():
    """Rodents: detect and track animals in videos, label future positions, kinematics of keypoint files."""


# Modules (relative to posekit) whose COMMANDS join `posekit rodent`; each imports heavy dependencies on use.
RODENT_COMMAND_MODULES: tuple[str, ...] = ("rodent.cli_kinematics", "rodent.cli_detect", "rodent.cli_ratpose")

for _module in RODENT_COMMAND_MODULES:
    for _command in importlib.import_module(f"posekit.{_module}").COMMANDS:
        rodent.add_command(_command)

COMMANDS = (rodent,)
