import json
from pathlib import Path

from posekit.store.checks import load_schema

ROOT = Path(__file__).resolve().parents[2]


def test_the_written_schema_is_the_one_the_validator_uses():
    """data_schemas/ is what people read; the package copy is what `store validate` loads: they must not drift."""
    assert json.loads((ROOT / "data_schemas/store.schema.json").read_text()) == load_schema()
