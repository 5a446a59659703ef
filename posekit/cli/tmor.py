"""``posekit train tmor``, ``posekit zeroshot`` and ``posekit search``: T-MOR, the motion encoder trained against
text (thesis ch. 6), and what it does from skeletons alone (docs/text.md)."""

from __future__ import annotations

from pathlib import Path

import click

from ..locks import work_dir_lock
from .options import report, run_trainer, trainer_options, trust_checkpoint_option
from .train import train

CONFIG = "tmor/tmor_1xb32-text_store.py"
TEXT_HEADS = ("mlp", "linear", "frozen")  # posekit.train.tmor.TEXT_HEADS, without importing torch for --help
TERMS = {"loss_sequence": "L_mm", "loss_video": "L_mv", "loss_text": "L_mt"}  # the thesis's names (eq. 6.3, 6.4, 6.6)


def _text_features_option(help_text: str):
    return click.option("--text-features", default="text", show_default=True, help=help_text)


@train.command(name="tmor")
@trainer_options(
    store_help="Store with captions and text features (posekit text caption, posekit text embed) to train on.",
    outputs="Checkpoints, log, metrics.json and best.pth (the last epoch)",
    default_config=CONFIG,
)
@_text_features_option("Per-clip text embeddings /features/NAME (and class rows /class_features/NAME) of eq. 6.6.")
@click.option("--video-features", help="Per-clip video features /features/NAME for the video term, eq. 6.4.")
@click.option("--split", default="train", show_default=True, help="The split whose clips train.")
@click.option(
    "--text-head",
    type=click.Choice(TEXT_HEADS),
    help="phi_T: the thesis's MLP, one linear map, or none (frozen: motion is mapped into the text encoder's own "
    "space; default: the config's, mlp).",
)
@click.option(
    "--text-weight",
    type=click.FloatRange(min=0),
    help="Weight of the text term, eq. 6.6 (0: motion only, Table 6.7's first row; default: the config's, 1).",
)
@click.option("--project-2d", is_flag=True, help="Read a 3D store's joints as their 2D camera view.")
def tmor(**options):
    """T-MOR (thesis ch. 6): UNIK trained against augmented copies of each window (MoCo, eq. 6.3), the text of its
    class (eq. 6.6: negatives from other classes only) and, with --video-features, its video features (eq. 6.4).
    Then posekit zeroshot / search WORK_DIR/best.pth, or posekit train unik --init WORK_DIR/best.pth."""
    r = run_trainer("tmor", **options)
    terms = ", ".join(f"{symbol} {r[name]:.3f}" for name, symbol in TERMS.items() if name in r)
    video = f", video features/{r['video_features']}" if r["video_features"] else ""
    nearest = f"; nearest class text right for {r['class_top1']:.1f}% of windows" if "class_top1" in r else ""
    report(
        f"trained T-MOR for {r['epochs']} epochs on {r['train_windows']} windows of {options['store']} [{r['split']}] "
        f"({len(r['train_classes'])} classes; text features/{r['text_features']} of {r['text_encoder']}{video}): "
        f"loss {r['loss']:.3f} ({terms}){nearest}",
        options["work_dir"] / "metrics.json",
        r["best_checkpoint"],
    )


def _project_2d_option():
    return click.option(
        "--project-2d",
        is_flag=True,
        help="Read a 3D store's joints as their 2D camera view, with the store's own normalisation (a model of "
        "2D joints on another dataset's 3D store).",
    )


def _unseen(value: str | None) -> list[str] | None:
    return [name.strip() for name in value.split(",") if name.strip()] if value else None


@click.command()
@click.argument("checkpoint", type=click.Path(exists=True, path_type=Path))
@click.option("--store", required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--split", default="test", show_default=True, help="The clips scored.")
@click.option(
    "--classes",
    "classes_file",
    type=click.Path(exists=True, path_type=Path),
    help="Class texts, one line per store class in its order: a name or a description (default: each class's "
    "name as words and its description).",
)
@click.option(
    "--unseen",
    help="Comma-separated class names: score only their clips, choosing among them (the classes not trained on).",
)
@_text_features_option("The store's text features whose encoder embeds the class texts.")
@click.option(
    "--shots",
    type=click.IntRange(min=1),
    help="Few-shot instead: this many labelled clips per class from --support-split, nearest class prototype.",
)
@click.option("--draws", type=click.IntRange(min=1), default=5, show_default=True, help="Few-shot: random draws.")
@click.option("--support-split", default="train", show_default=True, help="Few-shot: the split shots come from.")
@click.option("--work-dir", type=click.Path(path_type=Path), help="Where results go (default: beside CKPT).")
@_project_2d_option()
@trust_checkpoint_option()
def zeroshot(
    checkpoint,
    store,
    split,
    classes_file,
    unseen,
    text_features,
    shots,
    draws,
    support_split,
    work_dir,
    project_2d,
    trust_checkpoint,
):
    """Label each clip of STORE's --split by the nearest class text, from skeletons alone, with a T-MOR checkpoint
    (posekit train tmor) or, as the baseline, a classifier's (posekit train unik: its scores weight its training
    classes' texts, ConSE). With --shots K: K labelled clips per class instead, nearest class prototype."""
    from ..train.transfer import few_shot, zero_shot

    if shots and classes_file:
        raise click.UsageError("--classes gives the class texts of zero-shot; --shots uses none")
    name = f"fewshot{shots}" if shots else "zeroshot"
    work_dir = work_dir or checkpoint.parent / f"{name}_{store.stem}"
    common = dict(
        split=split,
        work_dir=work_dir,
        unseen=_unseen(unseen),
        text_features=text_features,
        project_2d=project_2d,
        trust_checkpoint=trust_checkpoint,
    )
    with work_dir_lock(work_dir, name):
        if shots:
            r = few_shot(checkpoint, store, shots=shots, draws=draws, support_split=support_split, **common)
        else:
            r = zero_shot(checkpoint, store, classes_file=classes_file, **common)
    click.echo(_few_shot_line(r, work_dir) if shots else _zero_shot_line(r, work_dir))


def _scored(r: dict) -> str:
    return f"{r['store']} [{r['split']}], {r['clips']} clips of {len(r['classes'])} classes (chance {r['chance']:.1f}%)"


def _zero_shot_line(r: dict, work_dir: Path) -> str:
    top5 = f", top-5 {r['top5']:.2f}%" if len(r["classes"]) > 5 else ""  # of 5 classes or fewer, top-5 is all
    return (
        f"zero-shot ({r['kind']}) on {_scored(r)}: top-1 {r['top1']:.2f}%{top5}, mean class "
        f"{r['mean_class_acc']:.2f}% -> {work_dir}: metrics.json, scores.pkl, confusion.png"
    )


def _few_shot_line(r: dict, work_dir: Path) -> str:
    return (
        f"{r['shots']}-shot ({r['kind']}, nearest prototype, {r['draws']} draws) on {_scored(r)}: top-1 "
        f"{r['top1_mean']:.2f}% (std {r['top1_std']:.2f}), mean class {r['mean_class_acc_mean']:.2f}% (std "
        f"{r['mean_class_acc_std']:.2f}) -> {work_dir / 'metrics.json'}"
    )


@click.command()
@click.argument("checkpoint", type=click.Path(exists=True, path_type=Path))
@click.argument("sentence")
@click.option("--store", required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--split", help="Search only this split (default: every clip).")
@click.option("--top", type=click.IntRange(min=1), default=10, show_default=True)
@_text_features_option("The store's text features whose encoder embeds SENTENCE.")
@_project_2d_option()
@trust_checkpoint_option()
def search(checkpoint, sentence, store, split, top, text_features, project_2d, trust_checkpoint):
    """The clips of STORE whose motion is nearest SENTENCE ("a person sits down"), by a T-MOR checkpoint (or a
    classifier's): rank, clip id, cosine and class, best first."""
    from ..train.transfer import search as run

    hits = run(
        checkpoint,
        store,
        sentence,
        top=top,
        split=split,
        text_features=text_features,
        project_2d=project_2d,
        trust_checkpoint=trust_checkpoint,
    )
    for hit in hits:
        click.echo(f"{hit['rank']}\t{hit['id']}\t{hit['score']:.3f}\t{hit['label'] or '-'}")
    click.echo(
        f"ranked the clips of {store}{f' [{split}]' if split else ''} by {sentence!r}; draw one with: "
        f"posekit show {store} --clips {hits[0]['id']} -o {hits[0]['id']}.mp4"
    )


COMMANDS = (zeroshot, search)
