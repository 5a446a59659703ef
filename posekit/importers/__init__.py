"""Readers of the skeleton files labs already have, each registered under its ``posekit convert`` name."""
from importlib import import_module

from .base import READERS, ImportedDataset, register  # noqa: F401

# Each module registers its readers on import; listed here so that `posekit convert` knows every format.
_MODULES = ("penn_action", "nw_ucla", "ntu", "kinetics_skeleton", "openpose", "coco", "pyskl",
            "dlc", "sleap", "nwb", "arrays")


def load_all() -> dict:
    for name in _MODULES:
        try:
            import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as e:
            if e.name != f"{__name__}.{name}":
                raise
    return READERS
