"""Shared fixtures: real data beside the project (skipped when absent) and small synthetic stores."""

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


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


def load_tool(name: str) -> ModuleType:
    """tools/NAME.py as a module (tools/ is scripts, not a package); registered in sys.modules, which dataclasses
    need to resolve their annotations."""
    spec = importlib.util.spec_from_file_location(name, REPO / "tools" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
