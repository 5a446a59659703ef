"""The model zoo: the mmengine configs of ``models/`` and their machine-readable cards (``metafile.yml``).

``models/`` at the top of the source tree is the one source of truth; a wheel carries a copy as package data
(:mod:`posekit.package_data`).

A card follows mmaction2's metafile schema (Collections: Name, README, Paper; Models: Name, Config, In Collection,
Metadata, Results, Weights) plus a ``Command`` per model that reproduces its figures, and per result an optional
``Setting`` (what the run changed) and ``Published`` (the paper's figure). Paths in a card are relative to
:func:`models_dir`. The schema: ``data_schemas/metafile.schema.json``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import jsonschema
import yaml

from .errors import InputError
from .package_data import load_schema, shipped_dir

CARD_NAME = "metafile.yml"
CARD_SCHEMA = "metafile.schema.json"


def models_dir() -> Path:
    """The zoo's folder: the installed copy (package data) if present, else the source tree's ``models/``."""
    return shipped_dir("models")


@dataclass(frozen=True)
class Result:
    dataset: str
    task: str
    metrics: dict[str, float]
    setting: str | None = None
    published: str | None = None


@dataclass(frozen=True)
class Model:
    name: str
    collection: str
    config: str
    metadata: dict
    results: tuple[Result, ...]
    weights: str | None
    command: str | None

    @property
    def headline(self) -> tuple[str, float] | None:
        """(metric, value): the first metric of the first result, the figure a card leads with."""
        if not self.results:
            return None
        return next(iter(self.results[0].metrics.items()))


@dataclass(frozen=True)
class Card:
    path: Path
    collections: tuple[dict, ...]
    models: tuple[Model, ...]


def load_cards(root: str | Path | None = None) -> list[Card]:
    """Every ``<model>/metafile.yml`` under ``root`` (default: :func:`models_dir`), by folder name. A folder
    without a card (a model still being added) is skipped; a bad card raises InputError naming its file."""
    root = Path(root) if root is not None else models_dir()
    return [load_card(path) for path in sorted(root.glob(f"*/{CARD_NAME}"))]


def load_card(path: str | Path) -> Card:
    """One card, checked against the schema and against its zoo folder (the configs and READMEs it names)."""
    path = Path(path)
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as e:
        raise InputError(f"{path}: not a readable YAML card ({' '.join(str(e).split())})") from None
    error = jsonschema.exceptions.best_match(jsonschema.Draft202012Validator(load_schema(CARD_SCHEMA)).iter_errors(doc))
    if error is not None:
        where = "/".join(str(part) for part in error.absolute_path) or "top level"
        raise InputError(f"{path}: {where}: {error.message}")
    names = {c["Name"] for c in doc["Collections"]}
    models = tuple(_model(entry) for entry in doc["Models"])
    for model in models:
        if model.collection not in names:
            raise InputError(
                f"{path}: model {model.name}: In Collection {model.collection!r} is not a collection "
                f"of this card ({', '.join(sorted(names))})"
            )
        if not (path.parent.parent / model.config).is_file():
            raise InputError(f"{path}: model {model.name}: Config {model.config} does not exist")
    for collection in doc["Collections"]:
        if not (path.parent.parent / collection["README"]).is_file():
            raise InputError(f"{path}: collection {collection['Name']}: README {collection['README']} does not exist")
    return Card(path=path, collections=tuple(doc["Collections"]), models=models)


def _model(entry: dict) -> Model:
    results = tuple(
        Result(
            dataset=r["Dataset"],
            task=r["Task"],
            metrics=dict(r["Metrics"]),
            setting=r.get("Setting"),
            published=r.get("Published"),
        )
        for r in entry["Results"]
    )
    return Model(
        name=entry["Name"],
        collection=entry["In Collection"],
        config=entry["Config"],
        metadata=dict(entry["Metadata"]),
        results=results,
        weights=entry["Weights"],
        command=entry["Command"],
    )
