"""The importer interface: a reader turns source files into clips plus the store-level facts about them."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator

from ..errors import InputError
from ..layouts import Layout
from ..store import Clip


@dataclass
class ImportedDataset:
    """What a reader yields. ``clips`` is consumed once, lazily, so a reader never holds a dataset in memory."""
    layout: Layout
    clips: Iterable[Clip]
    classes: list[str] = field(default_factory=list)
    class_descriptions: list[str] | None = None
    coord_dims: int | None = None
    coordinates: str = "pixel"  # pixel | normalised | metric
    name: str | None = None
    provenance: dict = field(default_factory=dict)  # e.g. {"source_format": ..., "estimator": ...}


Reader = Callable[..., ImportedDataset]
READERS: dict[str, Reader] = {}
SUFFIXES: dict[str, tuple[str, ...]] = {}


def register(name: str, suffixes: tuple[str, ...] = ()):
    """Register ``reader(sources: list[Path], **options) -> ImportedDataset`` under a format name."""
    def wrap(fn: Reader) -> Reader:
        READERS[name] = fn
        SUFFIXES[name] = suffixes
        return fn
    return wrap


def expand(sources, suffixes: tuple[str, ...]) -> list[Path]:
    """Files named directly, plus files with one of ``suffixes`` found recursively in named folders, sorted."""
    files = []
    for src in map(Path, sources):
        if src.is_dir():
            found = sorted(p for p in src.rglob("*") if p.is_file() and p.name.lower().endswith(suffixes))
            if not found:
                raise InputError(f"{src}: no {'/'.join(suffixes)} files in this folder")
            files.extend(found)
        elif src.is_file():
            files.append(src)
        else:
            raise InputError(f"{src}: no such file or folder")
    return files


def fail(path, problem: str) -> InputError:
    """The one-line error for a file that cannot be read: ``raise fail(path, "truncated header")``."""
    return InputError(f"{path}: {problem}")


def iter_files(files: list[Path], read_one: Callable[[Path], Iterator[Clip]]) -> Iterator[Clip]:
    """Apply a per-file reader, turning its unexpected exceptions into one-line errors naming the file."""
    for path in files:
        try:
            yield from read_one(path)
        except InputError:
            raise
        except Exception as e:  # a reader's KeyError/IndexError on a malformed file is a malformed file
            raise fail(path, f"cannot be read ({type(e).__name__}: {e})") from e
