"""Naming clips on the command line: a clip id, or an index into the store (negative from the end), and
``STORE:CLIP`` for a clip of any store."""

from __future__ import annotations

from pathlib import Path

from .errors import InputError, PosekitError
from .store import SkeletonStore


def parse_ref(text: str) -> tuple[Path, str]:
    """``STORE:CLIP`` -> (store path, clip id or index); the last colon splits, so a path may hold colons."""
    store, sep, clip = text.rpartition(":")
    if not sep or not store or not clip:
        raise PosekitError(f"{text!r}: expected STORE:CLIP, CLIP a clip id or an index")
    return Path(store), clip


def clip_index(store: SkeletonStore, clip: str) -> int:
    """The index of clip ``clip`` (an id first, else an index); one line naming the store if there is none."""
    ids = list(store.ids)
    if clip in ids:
        return ids.index(clip)
    if clip.lstrip("-").isdigit() and -len(ids) <= int(clip) < len(ids):
        return int(clip) % len(ids)
    shown = ", ".join(ids[:6]) + (f" ... ({len(ids)} clips)" if len(ids) > 6 else "")
    raise InputError(f"{store.path}: no clip {clip!r} (ids: {shown}; or an index 0..{len(ids) - 1})")
