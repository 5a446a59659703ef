"""Writers from a skeleton store to the files other toolkits train on."""
from ..errors import PosekitError
from .pyskl import export_pyskl

EXPORTERS = {"pyskl": export_pyskl}


def export(fmt: str, store_path, out_path, **options) -> int:
    """Write the store at ``store_path`` in format ``fmt``; returns the number of clips written."""
    if fmt not in EXPORTERS:
        raise PosekitError(f"unknown export format {fmt!r}; formats: {', '.join(EXPORTERS)}")
    return EXPORTERS[fmt](store_path, out_path, **options)
