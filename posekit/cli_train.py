"""``posekit train / eval / predict / fuse``: skeleton action models on stores (torch is imported on use)."""
from __future__ import annotations

import importlib
from pathlib import Path

import click

from .cli_options import report, run_trainer, trainer_options, trust_checkpoint_option
from .locks import work_dir_lock
from .outputs import force_option, refuse_existing

STREAMS = ("joint", "bone", "joint-motion", "bone-motion")


@click.group()
def train():
    """Train a model: skeleton action recognisers on stores (unik, stgcn) and the other models posekit ships."""


def _action_model_command(model: str, summary: str):
    """``posekit train MODEL``: one command per skeleton action model, all with the same options."""

    @train.command(name=model, help=summary)
    @trainer_options(store_help="Store to train and test on.",
                     outputs="Checkpoints, log, metrics.json, scores.pkl and confusion.png",
                     default_config="the model's store config")
    @click.option("--stream", type=click.Choice(STREAMS), default="joint", show_default=True)
    @click.option("--init", type=click.Path(path_type=Path),
                  help="Checkpoint to start from (the classifier is re-created).")
    @click.option("--allow-partial-init", is_flag=True,
                  help="Train even if --init fills only part of the backbone (the rest starts from scratch).")
    @click.option("--linear", is_flag=True, help="Linear evaluation: freeze the backbone, train the classifier.")
    @click.option("--project-2d", is_flag=True,
                  help="Read a 3D store's joints as their 2D camera view (for a model pre-trained on 2D joints).")
    @click.option("--label-fraction", type=float, default=1.0, show_default=True,
                  help="Train on this fraction of the labelled training clips of each class.")
    @click.option("--holdout", type=float, default=0.1, show_default=True,
                  help="Fraction of the training split held out to pick the best epoch (0: keep the last).")
    @click.option("--test-clips", type=click.IntRange(min=1),
                  help="Score each test clip as the mean of this many frame samplings (default: the config's, 1).")
    @click.option("--launcher", type=click.Choice(["none", "pytorch"]), default="none",
                  help=f"'pytorch' under torchrun for DDP: "
                       f"torchrun --nproc-per-node N -m posekit.cli train {model} ...")
    def command(**options):
        r = run_trainer(model, **options)
        work_dir = options["work_dir"]
        if options["init"] is not None:
            click.echo(f"initialised from {options['init']}: {r['init_tensors']['loaded']} of "
                       f"{r['init_tensors']['expected']} backbone tensors loaded (the classifier re-created)")
        report(f"trained {model} ({options['stream']}) on {options['store']}: test top-1 {r['top1']:.2f}%, top-5 "
               f"{r['top5']:.2f}%, mean class {r['mean_class_acc']:.2f}% over {r['test_split_clips']} clips",
               work_dir / "metrics.json", work_dir / "best.pth", work_dir / "scores.pkl", work_dir / "confusion.png")

    return command


@click.command(name="eval")
@click.argument("checkpoint", type=click.Path(exists=True, path_type=Path))
@click.option("--store", required=True, type=click.Path(path_type=Path))
@click.option("--split", default="test", show_default=True)
@click.option("--work-dir", type=click.Path(path_type=Path), help="Where scores and plots go (default: beside CKPT).")
@click.option("--clips", type=click.IntRange(min=1),
              help="Score each clip as the mean of this many frame samplings (default: as trained).")
@trust_checkpoint_option()
def evaluate(checkpoint, store, split, work_dir, clips, trust_checkpoint):
    """Score a split of a store with a trained checkpoint."""
    from .train.api import evaluate as run

    work_dir = work_dir or checkpoint.parent / f"eval_{store.stem}"
    with work_dir_lock(work_dir, "eval"):
        metrics = run(checkpoint, store, split=split, work_dir=work_dir, clips=clips,
                      trust_checkpoint=trust_checkpoint)
    shown = f", {clips} clips each" if clips and clips > 1 else ""
    click.echo(f"{checkpoint} on {store} [{split}{shown}]: top-1 {metrics['top1']:.2f}%, top-5 {metrics['top5']:.2f}%, "
               f"mean class {metrics['mean_class_acc']:.2f}% -> {work_dir}")


@click.command()
@click.argument("checkpoint", type=click.Path(exists=True, path_type=Path))
@click.argument("source", type=click.Path(exists=True, path_type=Path))
@click.option("--format", "fmt", help="Format of SOURCE when it is not a store (as for posekit convert).")
@click.option("-o", "--output", type=click.Path(path_type=Path),
              help="File for the predictions: .json (with the top-5) or .csv.")
@force_option()
@trust_checkpoint_option()
def predict(checkpoint, source, fmt, output, force, trust_checkpoint):
    """Label every clip of a store, or of a skeleton file of --format."""
    from .convert import as_store
    from .train.api import predict as run
    from .train.predictions import check_predictions_path, write_predictions

    if output:  # before the work, not after it
        check_predictions_path(output)
        refuse_existing(output, force=force)
    with as_store(source, fmt) as store:
        results = run(checkpoint, store, trust_checkpoint=trust_checkpoint)
    for r in results:
        click.echo(f"{r['id']}\t{r['predicted']}\t{r['probability']:.3f}")
    if output:
        click.echo(f"{len(results)} predictions -> {write_predictions(results, output)}")


@click.command()
@click.argument("scores", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("-o", "--output", required=True, type=click.Path(path_type=Path))
@click.option("--weights", help="Comma-separated weight per score file (default: equal).")
@force_option()
def fuse(scores, output, weights, force):
    """Fuse per-clip scores of several streams (e.g. joint + bone), matched by clip id."""
    from .train.fusion import fuse as run

    refuse_existing(output, force=force)
    weights = [float(w) for w in weights.split(",")] if weights else None
    result = run(scores, output, weights)
    accuracy = (f": top-1 {result['top1']:.2f}%, top-5 {result['top5']:.2f}%, mean class "
                f"{result['mean_class_acc']:.2f}%") if "top1" in result else ""
    click.echo(f"fused {len(scores)} score files over {result['clips']} clips{accuracy} -> {output}")


_action_model_command("unik", "UNIK, the topology-free model of the thesis (chapter 3): train on a store; the "
                      "test split is scored with the best epoch on a hold-out of the training split.")
_action_model_command("stgcn", "ST-GCN baseline with a fixed skeleton graph, trained exactly as UNIK is.")

# Modules (relative to posekit) whose TRAIN_COMMANDS join `posekit train` (models that are not action recognisers
# on stores, e.g. the rodent branch's); each imports heavy dependencies on use.
TRAIN_COMMAND_MODULES: tuple[str, ...] = ("rodent.cli_kinematics", "rodent.cli_ratpose", "cli_synth")

for _module in TRAIN_COMMAND_MODULES:
    for _command in importlib.import_module(f"posekit.{_module}").TRAIN_COMMANDS:
        train.add_command(_command)

COMMANDS = (train, evaluate, predict, fuse)
