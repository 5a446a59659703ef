"""Writers from a skeleton store to the files other toolkits train on, each registered in
:data:`posekit.registry.EXPORTERS` under its ``posekit store export --format`` name::

    @EXPORTERS.register_module("pyskl")
    def export_pyskl(store_path, out_path, **options) -> int: ...

Importing the package imports every module in it, so a new writer needs no list to join."""

import pkgutil
from importlib import import_module

from ..errors import PosekitError
from ..registry import EXPORTERS, names

for _module in pkgutil.iter_modules(__path__):
    import_module(f"{__name__}.{_module.name}")


def export(fmt: str, store_path, out_path, **options) -> int:
    """Write the store at ``store_path`` in format ``fmt``; returns the number of clips written."""
    formats = names(EXPORTERS)
    if fmt not in formats:
        raise PosekitError(f"unknown export format {fmt!r}; formats: {', '.join(formats)}")
    return EXPORTERS.get(fmt)(store_path, out_path, **options)
