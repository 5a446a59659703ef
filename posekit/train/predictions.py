"""Writing `posekit predict`'s labels: JSON (one object per clip, top-5 included) or CSV for a spreadsheet."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from ..errors import PosekitError
from ..store import atomic_path

SUFFIXES = (".json", ".csv")
CSV_COLUMNS = ("id", "predicted", "probability", "top5_classes", "top5_probabilities")


def check_predictions_path(path: str | Path) -> Path:
    """``path`` as a Path if its suffix names a predictions format; a one-line error otherwise."""
    path = Path(path)
    if path.suffix.lower() not in SUFFIXES:
        raise PosekitError(f"{path}: predictions are written as .json or .csv, not {path.suffix or 'no suffix'!r}")
    return path


def write_predictions(results: list[dict], path: str | Path) -> Path:
    """Write ``results`` (as ``train.api.predict`` returns them) to ``path``, in the format its suffix names.

    In CSV the top-5 classes and their probabilities are ``|``-separated, best first."""
    path = check_predictions_path(path)
    with atomic_path(path) as tmp:
        if path.suffix.lower() == ".json":
            tmp.write_text(json.dumps(results, indent=1))
        else:
            with open(tmp, "w", newline="") as f:
                writer = csv.writer(f)
                writer.writerow(CSV_COLUMNS)
                for r in results:
                    writer.writerow(
                        [
                            r["id"],
                            r["predicted"],
                            f"{r['probability']:.6f}",
                            "|".join(name for name, _ in r["top5"]),
                            "|".join(f"{p:.6f}" for _, p in r["top5"]),
                        ]
                    )
    return path
