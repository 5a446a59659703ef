"""``posekit train / eval / predict / fuse``: skeleton action models on stores (torch is imported on use)."""

from __future__ import annotations

from pathlib import Path

import click

from ..locks import work_dir_lock
from ..outputs import force_option, refuse_existing
from .options import report, run_trainer, trainer_options, trust_checkpoint_option

STREAMS = ("joint", "bone", "joint-motion", "bone-motion")


@click.group()
def train():
    """Train a model: skeleton action recognisers on stores (unik, stgcn, ctrgcn) and the other models posekit ships."""


def transfer_options(head: str, items: str):
    """The options of every model trained on a store's labels, from scratch or from a checkpoint: stream, --init
    and its checks, linear evaluation, 2D projection, label fraction and the hold-out that picks the best epoch."""
    options = [
        click.option("--stream", type=click.Choice(STREAMS), default="joint", show_default=True),
        click.option(
            "--init",
            type=click.Path(path_type=Path),
            help=f"Checkpoint to start from, e.g. of posekit train pretrain or unik (the {head} is re-created).",
        ),
        click.option(
            "--allow-partial-init",
            is_flag=True,
            help="Train even if --init fills only part of the backbone (the rest starts from scratch).",
        ),
        click.option("--linear", is_flag=True, help=f"Linear evaluation: freeze the backbone, train the {head}."),
        click.option(
            "--project-2d",
            is_flag=True,
            help="Read a 3D store's joints as their 2D camera view (for a model pre-trained on 2D joints).",
        ),
        click.option(
            "--label-fraction",
            type=float,
            default=1.0,
            show_default=True,
            help=f"Train on this fraction of the {items}.",
        ),
        click.option(
            "--holdout",
            type=float,
            default=0.1,
            show_default=True,
            help="Fraction of the training split held out to pick the best epoch (0: keep the last).",
        ),
    ]

    def decorate(command):
        for option in reversed(options):
            command = option(command)
        return command

    return decorate


def _report_init(options: dict, result: dict, head: str) -> None:
    if options["init"] is not None:
        click.echo(
            f"initialised from {options['init']}: {result['init_tensors']['loaded']} of "
            f"{result['init_tensors']['expected']} backbone tensors loaded (the {head} re-created)"
        )


def _action_model_command(model: str, summary: str):
    """``posekit train MODEL``: one command per skeleton action model, all with the same options."""

    @train.command(name=model, help=summary)
    @trainer_options(
        store_help="Store to train and test on.",
        outputs="Checkpoints, log, metrics.json, scores.pkl and confusion.png",
        default_config="the model's store config",
    )
    @transfer_options(head="classifier", items="labelled training clips of each class")
    @click.option(
        "--test-clips",
        type=click.IntRange(min=1),
        help="Score each test clip as the mean of this many frame samplings (default: the config's, 1).",
    )
    @click.option(
        "--launcher",
        type=click.Choice(["none", "pytorch"]),
        default="none",
        help=f"'pytorch' under torchrun for DDP: torchrun --nproc-per-node N -m posekit.cli train {model} ...",
    )
    @click.option(
        "--streams",
        help="Train one model per stream (comma-separated, e.g. joint,bone,joint-motion,bone-motion) into "
        "WORK_DIR/<stream>/ and fuse their test scores into WORK_DIR/metrics.json; finished streams are skipped.",
    )
    @click.option(
        "--weights", help="Fusion weight per stream of --streams (default: pyskl's joint 2, bone 2, motions 1)."
    )
    def command(streams, weights, **options):
        if streams:
            _train_streams(model, streams, weights, options)
            return
        if weights:
            raise click.UsageError("--weights goes with --streams")
        r = run_trainer(model, **options)
        work_dir = options["work_dir"]
        _report_init(options, r, "classifier")
        report(
            f"trained {r['model']} ({options['stream']}, {r['epochs']} epochs) on {options['store']}: test top-1 "
            f"{r['top1']:.2f}%, top-5 "
            f"{r['top5']:.2f}%, mean class {r['mean_class_acc']:.2f}% over {r['test_split_clips']} clips",
            work_dir / "metrics.json",
            work_dir / "best.pth",
            work_dir / "scores.pkl",
            work_dir / "confusion.png",
        )

    return command


def _train_streams(model: str, streams: str, weights: str | None, options: dict) -> None:
    from ..train.streams import parse_streams, parse_weights, train_streams

    if options["stream"] != "joint":
        raise click.UsageError("give either --stream or --streams")
    names = parse_streams(streams)
    work_dir = options.pop("work_dir")
    options.pop("resume")

    def train_one(stream: str, stream_dir: Path, resume: bool) -> dict:
        report(f"stream {stream} -> {stream_dir}{' (resumed)' if resume else ''}")
        return run_trainer(model, **{**options, "stream": stream, "resume": resume}, work_dir=stream_dir)

    with work_dir_lock(work_dir, f"train {model} --streams"):
        r = train_streams(train_one, names, work_dir, parse_weights(weights, names))
    lines = [
        f"  {stream}: test top-1 {figures['top1']:.2f}%"
        + (" (trained before, skipped)" if stream in r["skipped"] else "")
        for stream, figures in r["streams"].items()
    ]
    weights_text = ", ".join(f"{s} {w:g}" for s, w in r["weights"].items())
    report(
        "\n".join(lines) + f"\nfused {len(names)} streams of {model} ({weights_text}): test top-1 {r['top1']:.2f}%, "
        f"top-5 {r['top5']:.2f}%, mean class {r['mean_class_acc']:.2f}% over {r['clips']} clips",
        work_dir / "metrics.json",
        work_dir / "scores.pkl",
    )


@click.command(name="eval")
@click.argument("checkpoint", type=click.Path(exists=True, path_type=Path))
@click.option("--store", required=True, type=click.Path(path_type=Path))
@click.option("--split", default="test", show_default=True)
@click.option("--work-dir", type=click.Path(path_type=Path), help="Where scores and plots go (default: beside CKPT).")
@click.option(
    "--clips",
    type=click.IntRange(min=1),
    help="Score each clip as the mean of this many frame samplings (default: as trained).",
)
@trust_checkpoint_option()
def evaluate(checkpoint, store, split, work_dir, clips, trust_checkpoint):
    """Score a split of a store with a trained checkpoint."""
    from ..train.api import evaluate as run

    work_dir = work_dir or checkpoint.parent / f"eval_{store.stem}"
    with work_dir_lock(work_dir, "eval"):
        metrics = run(checkpoint, store, split=split, work_dir=work_dir, clips=clips, trust_checkpoint=trust_checkpoint)
    shown = f", {clips} clips each" if clips and clips > 1 else ""
    click.echo(
        f"{checkpoint} on {store} [{split}{shown}]: top-1 {metrics['top1']:.2f}%, top-5 {metrics['top5']:.2f}%, "
        f"mean class {metrics['mean_class_acc']:.2f}% -> {work_dir}"
    )


@click.command()
@click.argument("checkpoint", type=click.Path(exists=True, path_type=Path))
@click.argument("source", type=click.Path(exists=True, path_type=Path))
@click.option("--format", "fmt", help="Format of SOURCE when it is not a store (as for posekit convert).")
@click.option("--split", help="Label only the clips of this split of the store (default: every clip).")
@click.option(
    "--layout",
    help="With --format: the layout of SOURCE's joints (name or layout file), as posekit convert takes it; a file "
    "without joint names also needs -O joint_order=layout (or -O joint_names=FILE).",
)
@click.option(
    "-O",
    "--option",
    "reader_options",
    multiple=True,
    metavar="KEY=VALUE",
    help="With --format: a reader option, as for posekit convert (e.g. -O joint_order=layout).",
)
@click.option(
    "-o", "--output", type=click.Path(path_type=Path), help="File for the predictions: .json (with the top-5) or .csv."
)
@force_option()
@trust_checkpoint_option()
def predict(checkpoint, source, fmt, split, layout, reader_options, output, force, trust_checkpoint):
    """Label every clip of a store (or of one --split), or of a skeleton file of --format, with a trained
    CHECKPOINT or its ONNX export (a .onnx file of posekit export, run by onnxruntime on the CPU)."""
    from ..convert import as_store, parse_reader_options
    from ..train.api import predict as run
    from ..train.predictions import check_predictions_path, write_predictions

    if fmt is None and (layout or reader_options):
        raise click.UsageError("--layout and -O describe a file to import: they go with --format")
    options = parse_reader_options(reader_options)
    if output:  # before the work, not after it
        check_predictions_path(output)
        refuse_existing(output, force=force)
    with as_store(source, fmt, layout=layout, **options) as store:
        results = run(checkpoint, store, split=split, trust_checkpoint=trust_checkpoint)
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
    from ..train.fusion import fuse as run

    refuse_existing(output, force=force)
    weights = [float(w) for w in weights.split(",")] if weights else None
    result = run(scores, output, weights)
    accuracy = (
        (f": top-1 {result['top1']:.2f}%, top-5 {result['top5']:.2f}%, mean class {result['mean_class_acc']:.2f}%")
        if "top1" in result
        else ""
    )
    for path, figures in result["each"].items():
        click.echo(f"  {path}: top-1 {figures['top1']:.2f}%")
    click.echo(f"fused {len(scores)} score files over {result['clips']} clips{accuracy} -> {output}")


_action_model_command(
    "unik",
    "UNIK, the topology-free model of the thesis (chapter 3): train on a store; the "
    "test split is scored with the best epoch on a hold-out of the training split.",
)
_action_model_command("stgcn", "ST-GCN baseline with a fixed skeleton graph, trained exactly as UNIK is.")
_action_model_command("ctrgcn", "CTR-GCN baseline with channel-wise refined graphs, trained exactly as UNIK is.")


@train.command(name="motion-generator")
@trainer_options(
    store_help="Renders of posekit synth views to train on.",
    outputs="Checkpoints, log and metrics.json",
    default_config="motion_generator/motion-generator_1xb64_nw-ucla-views.py",
)
def motion_generator(**options):
    """The motion generator of LAC / ViA (thesis ch. 4): an autoencoder whose code splits into Motion and Static
    (body, view), trained by motion retargeting; scored on held-out bodies and views."""
    r = run_trainer("motion-generator", **options)
    report(
        f"trained the motion generator for {r['epochs']} epochs on {options['store']}; held-out bodies and views "
        f"({r['test_pairs']} pairs): retargeting MSE {r['retarget_mse']:.4f} (z-scored; copying the source: "
        f"{r['copy_mse']:.4f}), MPJPE {r['retarget_mpjpe']:.4f} store units",
        options["work_dir"] / "metrics.json",
        r["checkpoint"],
    )


@train.command(name="pretrain")
@trainer_options(
    store_help="Store whose unlabelled windows (of --split) pre-train the encoder; labels are ignored.",
    outputs="Checkpoints, log, metrics.json and best.pth (the last epoch)",
    default_config="pretrain/unik-pretrain_1xb32-POSITIVES_store.py",
)
@click.option(
    "--positives",
    type=click.Choice(["augment", "compose", "retarget"]),
    help="Positive keys: augmentations of the window (the control), LAC's composed motions or ViA's "
    "retargeted bodies and views (default: the config's, augment).",
)
@click.option(
    "--generator",
    type=click.Path(exists=True, path_type=Path),
    help="Motion generator checkpoint (posekit train motion-generator) for compose and retarget.",
)
@click.option("--project-2d", is_flag=True, help="Read a 3D store's joints as their 2D camera view.")
@click.option("--split", default="train", show_default=True, help="The split whose clips are pre-trained on.")
@click.option(
    "--frame-weight",
    type=click.FloatRange(min=0),
    help="Weight of the frame-level term, eq. 4.7 (0: sequence term only; default: the config's, 1).",
)
@click.option(
    "--window",
    type=click.IntRange(min=1),
    help="Frames per window; a multiple of 8 with a generator (default: the config's, 32).",
)
def pretrain(**options):
    """Self-supervised contrastive pre-training of UNIK (thesis ch. 4: LAC, ViA): MoCo with P positives per query,
    sequence- and frame-level InfoNCE. Then evaluate with posekit train unik --init WORK_DIR/best.pth [--linear]
    [--label-fraction 0.1]."""
    r = run_trainer("pretrain", **options)
    generator = f" from {r['generator']}" if r["generator"] else ""
    report(
        f"pre-trained UNIK for {r['epochs']} epochs on {r['train_windows']} windows of {options['store']} "
        f"[{r['split']}], {r['positives']} positives{generator}: loss {r['loss']:.3f}, positive found first "
        f"among the queue of {r['queue_size']} in {r['positive_top1']:.1f}% of queries (chance "
        f"{r['positive_top1_chance']:.1f}%)",
        options["work_dir"] / "metrics.json",
        r["best_checkpoint"],
    )


@train.command(name="lstm-selfsup")
@trainer_options(
    store_help="Tracks store (boxes per frame, source = video) or keypoint store; each clip's video is "
    "read. --tracks is its old name.",
    store_aliases=("--tracks",),
    outputs="crops.npz, checkpoints, model.pth and embeddings.h5",
    default_config="lstm_selfsup/lstm_selfsup_crops.py",
    batch_size=False,
    resume_help="Continue the last run in WORK_DIR (its crops are reused).",
)
@click.option(
    "--video",
    type=click.Path(exists=True, path_type=Path),
    help="Video of every clip (default: each clip's source, relative to the store's folder).",
)
@click.option("--batch-pairs", type=int, help="n (real, permuted) pairs per batch (default: the config's, 12).")
@click.option("--seq-len", type=int, help="Frames per sequence (default: the config's, 8).")
@click.option("--stride", type=int, help="Frames between the starts of training sequences (default: 2).")
@click.option("--crop-size", type=int, help="Side of the square grey crops in pixels (default: 64).")
@click.option("--hidden", type=int, help="LSTM units, the behaviour embedding's size (default: 512).")
@click.option("--lr", type=float, help="Learning rate (default: the config's).")
def lstm_selfsup(**options):
    """Posture and behaviour embeddings of an animal from unlabelled video: LSTM self-supervision.

    A CNN-LSTM learns to tell real sequences of crops around the animal from permuted ones (Brattoli, Buechler et
    al., CVPR 2017); WORK_DIR/embeddings.h5 then holds its per-frame posture and per-sequence behaviour vectors."""
    from ..checkpoints import LAST_ITERATIONS

    r = run_trainer("lstm-selfsup", **options)
    report(
        f"trained the CNN-LSTM for {r['epochs']} epochs on {options['store']}: real-vs-permuted training accuracy "
        f"{100 * r['train_accuracy']:.1f}% (last {LAST_ITERATIONS} iterations); embedded {r['frames']} frames "
        f"and {r['windows']} sequences",
        r["checkpoint"],
        r["embeddings"],
    )


@train.command()
@trainer_options(
    store_help="Labelled RatPose-style store (posekit rodent label); frames from the file /clips/source "
    "names. --data is its old name.",
    store_aliases=("--data",),
    outputs="Checkpoints, log, metrics.json, scores.pkl and confusion.png",
    default_config="dmsd/dmsd_1xb16_arena.py; dmsd/tsm_1xb16_arena.py is the single-stream baseline",
)
@click.option("--train-split", default="train_scenario", show_default=True)
@click.option("--test-split", default="test_scenario", show_default=True)
def dmsd(**options):
    """DMSD (RatPose / DMSD): future-position prediction from video; also scores constant-velocity extrapolation."""
    r = run_trainer("dmsd", **options)
    cv = r["constant_velocity"]
    report(
        f"trained {r['model']} on {options['store']} [{r['train_split']}] in {r['train_seconds']:.0f} s; "
        f"{r['test_split']} ({r['test_windows']} windows): top-1 {r['top1']:.2f}%, mean class "
        f"{r['mean_class_acc']:.2f}% (std {r['class_acc_std']:.2f}); constant velocity: top-1 {cv['top1']:.2f}%, "
        f"mean class {cv['mean_class_acc']:.2f}%",
        options["work_dir"] / "metrics.json",
        r["checkpoint"],
    )


@train.command(name="segment")
@trainer_options(
    store_help="Store of untrimmed sequences with per-frame labels (posekit synth untrimmed).",
    outputs="Checkpoints, log, metrics.json, class_ap.json and frame_scores.npz",
    default_config="unik_segmentation/unik_1xb16-frame-bce-win64_untrimmed.py",
)
@transfer_options(head="per-frame classifier", items="training sequences")
def segment(**options):
    """Action segmentation (thesis ch. 4, LAC's transfer): UNIK with a per-frame head, binary cross-entropy per frame
    and class on sliding windows over long sequences; each test frame is scored by the mean of the windows that cover
    it, and the test split is scored by frame-level accuracy and mAP."""
    r = run_trainer("segment", **options)
    work_dir = options["work_dir"]
    _report_init(options, r, "per-frame classifier")
    report(
        f"trained segment ({options['stream']}) on {options['store']}: test frame accuracy {r['frame_acc']:.2f}% "
        f"(background frames excluded), frame mAP {r['mAP']:.2f}% over {r['test_split_clips']} sequences "
        f"({r['frames']} frames)",
        work_dir / "metrics.json",
        work_dir / "best.pth",
        work_dir / "class_ap.json",
        work_dir / "frame_scores.npz",
    )


COMMANDS = (train, evaluate, predict, fuse)
