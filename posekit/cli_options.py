"""Command-line options shared by every ``posekit train`` command (and eval, predict), declared once."""
from __future__ import annotations

import click

RESUME_HELP = "Continue the last run in WORK_DIR from its latest checkpoint."
TRUST_HELP = ("Load checkpoints that need full unpickling or hold their config as Python text (older posekit, "
              "other tools): both can run code, so only for files you trust.")


def trust_checkpoint_option():
    """``--trust-checkpoint``: load a checkpoint even if that can run code (posekit.train.checkpoints)."""
    return click.option("--trust-checkpoint", is_flag=True, help=TRUST_HELP)


def training_options(*, batch_size: bool = True, resume_help: str = RESUME_HELP):
    """--epochs, --batch-size (unless ``batch_size=False``), --workers, --seed, --amp, --resume and
    --trust-checkpoint, in that order; each passes None (or False) when not given, so the config's value stands."""
    options = [click.option("--epochs", type=int, help="Number of epochs (default: the config's; the LR schedule "
                                                       "scales with it).")]
    if batch_size:
        options.append(click.option("--batch-size", type=int, help="Training batch size (default: the config's)."))
    options += [
        click.option("--workers", type=int, help="DataLoader workers (default: the config's)."),
        click.option("--seed", type=int, help="Random seed (default: the config's)."),
        click.option("--amp", is_flag=True, help="Mixed precision: float16 on a CUDA GPU, bfloat16 on the CPU."),
        click.option("--resume", is_flag=True, help=resume_help),
        trust_checkpoint_option(),
    ]

    def decorate(command):
        for option in reversed(options):  # click lists options in the order their decorators are written
            command = option(command)
        return command

    return decorate
