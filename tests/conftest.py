"""Shared fixtures: real data beside the project (skipped when absent) and small synthetic stores."""

from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture
def shared_data():
    """../shared/data, the real files; tests that need them skip on a machine without them."""
    if not SHARED_DATA.is_dir():
        pytest.skip("real data (../shared/data) is not present")
    return SHARED_DATA


def real_file(relative: str) -> Path:
    path = SHARED_DATA / relative
    if not path.exists():
        pytest.skip(f"real file {relative} is not present")
    return path
