"""``posekit models``: the model zoo, read from the cards (models/<model>/metafile.yml)."""

from __future__ import annotations

import json

import click


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print every model with its card's fields as JSON.")
def models(as_json):
    """List the model zoo: name, config, dataset and headline figure of each model card."""
    from ..zoo import load_cards, models_dir

    zoo = [model for card in load_cards() for model in card.models]
    if as_json:
        click.echo(json.dumps([_as_dict(model) for model in zoo], indent=2))
        return
    rows = [("name", "config", "dataset", "headline")] + [_summary(model) for model in zoo]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    for row in rows:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths)) + "  " + row[3])
    click.echo(f"{len(zoo)} models in {models_dir()}; --json adds the command that reproduces each figure")


def _summary(model) -> tuple[str, str, str, str]:
    dataset = model.results[0].dataset if model.results else model.metadata["Training Data"]
    headline = f"{model.headline[0]} {model.headline[1]}" if model.headline else "-"
    return model.name, model.config, dataset, headline


def _as_dict(model) -> dict:
    results = [
        {"dataset": r.dataset, "task": r.task, "setting": r.setting, "metrics": r.metrics, "published": r.published}
        for r in model.results
    ]
    return {
        "name": model.name,
        "collection": model.collection,
        "config": model.config,
        "metadata": model.metadata,
        "results": results,
        "weights": model.weights,
        "command": model.command,
    }


COMMANDS = (models,)
