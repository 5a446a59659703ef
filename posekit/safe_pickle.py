"""Unpickling user files without running their code.

A pickle names the functions its loader calls to rebuild objects, and a hostile one names ``os.system`` or
``open``. These unpicklers call nothing but numpy's array rebuilders (:func:`load_pickle`: pyskl annotations,
score files) or nothing at all (:func:`loads_plain`: the lists and strings PyTables pickles into HDF5 attributes),
so a foreign or hostile pickle is refused instead of executed.
"""

from __future__ import annotations

import io
import pickle

from .errors import InputError

ARRAY_GLOBALS = frozenset(
    {
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy.core.multiarray", "scalar"),
        ("numpy._core.multiarray", "scalar"),
        ("numpy.core.numeric", "_frombuffer"),
        ("numpy._core.numeric", "_frombuffer"),
        ("collections", "OrderedDict"),
        ("_codecs", "encode"),  # protocol 2 pickles spell bytes through _codecs.encode
    }
)


class _Restricted(pickle.Unpickler):
    """An unpickler that resolves only the globals in ``allowed``; any other is refused before it is imported."""

    def __init__(self, file, allowed: frozenset, allowed_what: str, **options):
        super().__init__(file, **options)
        self._allowed = allowed
        self._allowed_what = allowed_what

    def find_class(self, module, name):
        if (module, name) in self._allowed:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name} (only {self._allowed_what})")


def load_pickle(path):
    """Containers, numbers, strings and numpy arrays from a pickle file; errors name the file."""
    try:
        with open(path, "rb") as f:
            return _Restricted(f, ARRAY_GLOBALS, "containers and numpy arrays").load()
    except Exception as e:  # truncated, foreign or hostile: all are an unreadable input
        raise InputError(f"{path}: not a readable data pickle ({type(e).__name__}: {e})") from None


def loads_plain(data: bytes):
    """Lists, tuples, dicts, strings and numbers from pickled bytes, calling nothing to build them.

    Raises ``pickle.UnpicklingError`` for a pickle that needs any global, and whatever a malformed pickle raises.
    Python 2 strings are read as latin-1, as PyTables does."""
    return _Restricted(io.BytesIO(data), frozenset(), "plain containers", encoding="latin1").load()
