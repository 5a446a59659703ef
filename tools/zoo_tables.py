"""Regenerate the results table of each model README from its card (models/<model>/metafile.yml).

    python tools/zoo_tables.py            # rewrite the tables between the zoo-table markers
    python tools/zoo_tables.py --check    # exit 1 and name each README whose table differs from its card

The card is the source of truth for figures; the README's table is written between
``<!-- zoo-table:start -->`` and ``<!-- zoo-table:end -->`` and nothing else in the README is touched.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from posekit.errors import PosekitError
from posekit.zoo import Card, load_cards

START, END = "<!-- zoo-table:start -->", "<!-- zoo-table:end -->"
NOTE = "<!-- generated from metafile.yml by tools/zoo_tables.py: edit the card, then run the tool -->"


def results_table(card: Card) -> str:
    """One row per result of each model: dataset, setting, config, every metric of the card, published."""
    rows = [(model, result) for model in card.models for result in model.results]
    if not rows:
        return "No measured figures yet."
    metrics = list(dict.fromkeys(name for _, result in rows for name in result.metrics))
    optional = {"setting": any(r.setting for _, r in rows), "published": any(r.published for _, r in rows)}
    header = ["dataset"] + ["setting"] * optional["setting"] + ["config"] + metrics
    header += ["published"] * optional["published"]
    lines = [
        "| " + " | ".join(header) + " |",
        "|"
        + "---|" * (len(header) - len(metrics) - optional["published"])
        + "---:|" * len(metrics)
        + "---|" * optional["published"],
    ]
    for model, result in rows:
        cells = [result.dataset] + [result.setting or ""] * optional["setting"] + [f"`{Path(model.config).name}`"]
        cells += [str(result.metrics[name]) if name in result.metrics else "-" for name in metrics]
        cells += [result.published or ""] * optional["published"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def updated_readme(readme: Path, table: str) -> str:
    text = readme.read_text(encoding="utf-8")
    head, start, rest = text.partition(START)
    body, end, tail = rest.partition(END)
    if not start or not end:
        raise PosekitError(f"{readme}: no {START} ... {END} markers for the results table")
    return f"{head}{START}\n{NOTE}\n{table}\n{END}{tail}"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="Change nothing; exit 1 if a README is stale.")
    parser.add_argument("--root", type=Path, help="The zoo folder (default: posekit.zoo.models_dir()).")
    args = parser.parse_args(argv)
    try:
        cards = load_cards(args.root)
        stale = []
        for card in cards:
            readme = card.path.parent.parent / card.collections[0]["README"]
            wanted = updated_readme(readme, results_table(card))
            if wanted != readme.read_text(encoding="utf-8"):
                stale.append(readme)
                if not args.check:
                    readme.write_text(wanted, encoding="utf-8")
    except PosekitError as e:
        print(f"zoo_tables: error: {e}", file=sys.stderr)
        return 2
    for readme in stale:
        print(f"{readme}: {'stale, run python tools/zoo_tables.py' if args.check else 'table rewritten'}")
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
