"""The shared `posekit train` options: declared once, same names, order and defaults on every training command."""

import click
from click.testing import CliRunner

from posekit.cli import main
from posekit.cli.options import training_options

SHARED = ["epochs", "batch_size", "workers", "seed", "amp", "resume", "trust_checkpoint"]


def test_training_options_pass_none_unless_given_and_keep_their_order():
    @click.command()
    @training_options()
    def command(**options):
        click.echo(repr(sorted(options.items())))

    assert [p.name for p in command.params] == SHARED
    result = CliRunner().invoke(command, ["--epochs", "3", "--amp"])
    assert result.exit_code == 0, result.output
    assert eval(result.output) == sorted(
        {
            "epochs": 3,
            "batch_size": None,
            "workers": None,
            "seed": None,
            "amp": True,
            "resume": False,
            "trust_checkpoint": False,
        }.items()
    )


def test_every_training_command_declares_the_shared_options():
    train = main.commands["train"]
    for name, command in train.commands.items():
        names = [p.name for p in command.params]
        expected = [n for n in SHARED if n != "batch_size" or name != "lstm-selfsup"]
        assert [n for n in names if n in SHARED] == expected, name


def test_every_training_command_takes_its_store_work_dir_and_config_first():
    for name, command in main.commands["train"].commands.items():
        assert [p.name for p in command.params][:3] == ["store", "work_dir", "config"], name
