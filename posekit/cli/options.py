"""Command-line options shared by every ``posekit train`` command (and eval, predict), declared once, and the shape
every train command shares: its options (:func:`trainer_options`), its run under the work dir's lock
(:func:`run_trainer`) and its last lines (:func:`report`)."""

from __future__ import annotations

import functools
import os
from pathlib import Path

import click

RESUME_HELP = "Continue the last run in WORK_DIR from its latest checkpoint."
TRUST_HELP = (
    "Load checkpoints that need full unpickling or hold their config as Python text (older posekit, "
    "other tools): both can run code, so only for files you trust."
)


def trust_checkpoint_option():
    """``--trust-checkpoint``: load a checkpoint even if that can run code (posekit.train.checkpoints)."""
    return click.option("--trust-checkpoint", is_flag=True, help=TRUST_HELP)


def training_options(*, batch_size: bool = True, resume_help: str = RESUME_HELP):
    """--epochs, --batch-size (unless ``batch_size=False``), --workers, --seed, --amp, --resume and
    --trust-checkpoint, in that order; each passes None (or False) when not given, so the config's value stands."""
    options = [
        click.option(
            "--epochs", type=int, help="Number of epochs (default: the config's; the LR schedule scales with it)."
        )
    ]
    if batch_size:
        options.append(click.option("--batch-size", type=int, help="Training batch size (default: the config's)."))
    options += [
        click.option("--workers", type=int, help="DataLoader workers (default: the config's)."),
        click.option("--seed", type=int, help="Random seed (default: the config's)."),
        click.option("--amp", is_flag=True, help="Mixed precision: float16 on a CUDA GPU, bfloat16 on the CPU."),
        click.option("--resume", is_flag=True, help=resume_help),
        trust_checkpoint_option(),
    ]
    return _all(options)


def trainer_options(
    *,
    store_help: str,
    outputs: str,
    default_config: str,
    store_aliases: tuple[str, ...] = (),
    batch_size: bool = True,
    resume_help: str = RESUME_HELP,
):
    """What every ``posekit train`` command takes: --store (``store_aliases``: its older names), --work-dir (where
    ``outputs`` go), --config (``default_config``: what the help names as the default), then
    :func:`training_options`. The store need not exist: the work dir's lock comes first."""
    return _all(
        [
            click.option(
                "--store", *store_aliases, "store", required=True, type=click.Path(path_type=Path), help=store_help
            ),
            click.option("--work-dir", required=True, type=click.Path(path_type=Path), help=f"{outputs} go here."),
            click.option(
                "--config", help=f"mmengine config (path, or relative to models/); default: {default_config}."
            ),
            training_options(batch_size=batch_size, resume_help=resume_help),
        ]
    )


def _all(options):
    def decorate(command):
        for option in reversed(options):  # click lists options in the order their decorators are written
            command = option(command)
        return command

    return decorate


def run_trainer(name: str, store, work_dir, **options) -> dict:
    """``posekit train NAME``: the trainer registered under ``name`` (posekit.registry.TRAINERS), run while holding
    the work dir's lock; what it returns."""
    from ..locks import work_dir_lock
    from ..registry import TRAINERS

    with work_dir_lock(work_dir, f"train {name}"):
        return TRAINERS.get(name)(store, work_dir, **options)


def report(summary: str, *paths) -> None:
    """A train command's lines: what was done, then where it went (if anywhere); under torchrun, from rank 0 only."""
    if os.environ.get("RANK", "0") == "0":
        click.echo(summary + (f"\n-> {', '.join(str(path) for path in paths)}" if paths else ""))


class RegistryChoice(click.Choice):
    """One of the names registered in ``posekit.registry.<registry>``, sorted, read on first use (a value to check,
    a command's help): importing the modules that register imports numpy and h5py, and ``posekit --help`` must
    not wait for them."""

    def __init__(self, registry: str):
        self.registry, self.case_sensitive = registry, True  # not Choice.__init__: it would read the choices now

    @functools.cached_property
    def choices(self) -> tuple[str, ...]:
        from .. import registry

        return tuple(sorted(registry.names(getattr(registry, self.registry))))


class ListsArgumentChoices(click.Command):
    """A command whose help lists the choices of its arguments, which click shows for options only."""

    def format_help_text(self, ctx, formatter):
        super().format_help_text(ctx, formatter)
        for param in self.params:
            if isinstance(param, click.Argument) and isinstance(param.type, click.Choice):
                formatter.write_paragraph()
                with formatter.indentation():
                    formatter.write_text(f"{param.human_readable_name}: {', '.join(param.type.choices)}")
