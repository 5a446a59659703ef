"""The importer interface: a reader turns source files into clips plus the store-level facts about them."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator

import numpy as np

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
    """The one-line error for a file that cannot be read: ``raise fail(path, "truncated header")``. A library's
    message spanning lines (PyTables' HDF5 back trace) is joined into one."""
    return InputError(f"{path}: {' '.join(problem.split())}")


def iter_files(files: list[Path], read_one: Callable[[Path], Iterator[Clip]]) -> Iterator[Clip]:
    """Apply a per-file reader, turning its unexpected exceptions into one-line errors naming the file."""
    for path in files:
        try:
            yield from read_one(path)  # lazily: one clip at a time, whatever the file holds
        except InputError:
            raise
        except Exception as e:  # a reader's KeyError/IndexError on a malformed file is a malformed file
            raise fail(path, f"cannot be read ({type(e).__name__}: {e})") from e


def guarded(path, read):
    """``read(path)``, with an unexpected exception turned into the one-line error naming the file."""
    try:
        return read(path)
    except InputError:
        raise
    except Exception as e:  # a parser's KeyError/ValueError on a malformed file is a malformed file
        raise fail(path, f"cannot be read ({type(e).__name__}: {e})") from e


def first_then_rest(first_path, first, read):
    """A loader that hands out the already-read first file once and reads the others when the clips get there."""
    pending = [first]

    def load(path):
        return pending.pop() if path == first_path and pending else read(path)

    return load


def check_row_lengths(path, lines: list[str], num_fields: int, start: int, index_fields: int = 0):
    """Fail on a data row with fewer fields than the header (a truncated file); with ``index_fields``, a short
    row is allowed when it holds nothing beyond its index (DeepLabCut writes unlabelled images that way)."""
    for number in range(start, len(lines)):
        line = lines[number]
        if line and line.count(",") + 1 < num_fields and line.rstrip(",").count(",") >= index_fields:
            raise fail(path, f"line {number + 1} has {line.count(',') + 1} of {num_fields} fields (truncated file?)")


def stack_frames(frames: dict, num_joints: int, max_persons=None):
    """Dense (T, M, V, 2) keypoints, (T, M, V) scores and (T,) frame indices from {frame: (xy (P, V, 2), score (P, V))}.

    T spans the first to the last frame number (a frame without a file has no person); in each frame people are
    ranked by summed score. A joint with score 0, or at exactly (0, 0), is missing."""
    first, last = min(frames), max(frames)
    persons = max([len(score) for _, score in frames.values()] + [1])
    persons = min(persons, max_persons) if max_persons else persons
    keypoints = np.full((last - first + 1, persons, num_joints, 2), np.nan, np.float32)
    scores = np.zeros(keypoints.shape[:3], np.float32)
    for index, (xy, score) in frames.items():
        if not len(score):
            continue
        order = np.argsort(-score.sum(axis=1), kind="stable")[:persons]
        xy, score = xy[order].copy(), score[order]
        xy[(score == 0) | (xy == 0).all(axis=-1)] = np.nan
        keypoints[index - first, : len(order)] = xy
        scores[index - first, : len(order)] = score
    return keypoints, scores, np.arange(first, last + 1)
