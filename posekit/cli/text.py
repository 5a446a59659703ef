"""``posekit text caption / embed``: captions and text embeddings of a store's clips and classes (docs/text.md)."""

from __future__ import annotations

from pathlib import Path

import click

from ..outputs import refuse_existing
from ..text.captions import DEFAULT_TEMPLATES


@click.group()
def text():
    """Captions and text embeddings of a store's clips and classes."""


def _output_option():
    return click.option(
        "-o",
        "--output",
        type=click.Path(path_type=Path),
        help="Write the result to this new store instead of replacing STORE (in place, through a temporary copy).",
    )


@text.command()
@click.argument("path", metavar="STORE", type=click.Path(path_type=Path))
@click.option(
    "-t",
    "--template",
    "templates",
    multiple=True,
    help="A caption template (repeatable): {action} the class name as words, {name} as stored, {description} the "
    "class description (skipped for classes without). Default: " + "; ".join(DEFAULT_TEMPLATES),
)
@click.option(
    "--templates", "template_file", type=click.Path(path_type=Path), help="Templates from a file, one per line."
)
@click.option("--only-missing", is_flag=True, help="Caption only the clips without captions; keep the others.")
@click.option("--force", is_flag=True, help="Replace the captions clips have, and OUTPUT if it exists.")
@_output_option()
def caption(path, templates, template_file, only_missing, force, output):
    """Write template captions for every labelled clip of STORE, made from its class name and description
    ("jumping_jacks" -> "a person jumping jacks"), into /clips/text (one caption per line)."""
    from ..text.captions import caption_store, read_templates

    refuse_existing(output, force=force)
    chosen = list(templates) + (read_templates(template_file) if template_file else [])
    summary = caption_store(path, chosen or DEFAULT_TEMPLATES, output=output, force=force, only_missing=only_missing)
    click.echo(
        f"captioned {summary['clips']} clips ({summary['captions']} captions from {len(chosen or DEFAULT_TEMPLATES)} "
        f"templates, e.g. {summary['example']!r}) -> {summary['output']}"
        + (f"; {summary['uncaptioned']} clips have no caption" if summary["uncaptioned"] else "")
    )


@text.command()
@click.argument("path", metavar="STORE", type=click.Path(path_type=Path))
@click.option(
    "--encoder",
    default="minilm",
    show_default=True,
    help="minilm (all-MiniLM-L6-v2, 384-d, offline), bow (hashed bag of words, the control) or a "
    "sentence-transformers model folder (config.json, tokenizer.json, model.safetensors).",
)
@click.option("--name", default="text", show_default=True, help="Feature name: /features/NAME, /class_features/NAME.")
@click.option("--force", is_flag=True, help="Replace a feature of that name, and OUTPUT if it exists.")
@_output_option()
def embed(path, encoder, name, force, output):
    """Embed each clip's captions (mean of the caption embeddings, L2-normalised) into /features/NAME, and each
    class's name and description into /class_features/NAME, for comparing clips with classes (zero-shot)."""
    from ..text.embed import embed_store
    from ..text.encoders import get_encoder

    refuse_existing(output, force=force)
    chosen = get_encoder(encoder)
    summary = embed_store(path, chosen, name=name, output=output, force=force)
    click.echo(
        f"embedded {summary['captions']} captions of {summary['clips']} clips and {summary['classes']} classes "
        f"({chosen.name}, {summary['dim']}-d) -> {summary['output']}: features/{name}, class_features/{name}"
    )


COMMANDS = (text,)
