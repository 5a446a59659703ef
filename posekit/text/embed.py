"""``posekit text embed``: text embeddings of a store's clips and classes, written as feature arrays.

A clip's row in ``/features/NAME`` is the mean of its captions' embeddings, L2-normalised (NaN for a clip without
captions); a class's row in ``/class_features/NAME`` is the mean of the embeddings of its name as words
(``class_phrase``) and of its description if it has one, L2-normalised. Both come from the same encoder, so a
clip's row can be compared with every class's row (zero-shot classification by cosine similarity).
"""

from __future__ import annotations

import numpy as np

from ..errors import InputError
from ..store import StoreEditor
from .captions import class_phrase
from .encoders import l2_normalised

BLOCK_CLIPS = 4096  # clips embedded at once: their distinct captions are encoded once per block


def embed_store(path, encoder, *, name: str = "text", output=None, force: bool = False, progress: bool = True) -> dict:
    """Write ``/features/NAME`` (clips) and ``/class_features/NAME`` (classes) of the store at ``path`` (or of a
    copy at ``output``) with ``encoder``; an existing array of that name is refused unless ``force``."""
    from ..progress import progress_bar

    if not name or "/" in name:
        raise InputError(f"feature name {name!r}: give a non-empty name without '/'")
    steps = {"step": "text-embed", "encoder": encoder.description, "feature": name}
    with StoreEditor(path, output, provenance=steps) as editor:
        store = editor.store
        if not force and (name in store.feature_names or name in store.class_feature_names):
            raise InputError(f"{path}: feature {name!r} exists; --force replaces it, --name writes another")
        captions = store.captions()
        if not any(captions):
            raise InputError(f"{path}: no clip has a caption; `posekit text caption {path}` writes template ones")
        clip_rows = editor.new_feature(name, encoder.dim, encoder=encoder.name)
        blocks = range(0, len(captions), BLOCK_CLIPS)
        for start in progress_bar(blocks, desc="embed", unit="block", show=progress, leave=False):
            clip_rows[start : start + BLOCK_CLIPS] = mean_embeddings(encoder, captions[start : start + BLOCK_CLIPS])
        class_texts = [
            [class_phrase(n)] + ([d] if d.strip() else []) for n, d in zip(store.classes, store.class_descriptions)
        ]
        class_rows = editor.new_class_feature(name, encoder.dim, encoder=encoder.name)
        if class_texts:
            class_rows[...] = mean_embeddings(encoder, class_texts)
    return {
        "output": str(output or path),
        "clips": sum(1 for texts in captions if texts),
        "captions": sum(map(len, captions)),
        "classes": len(class_texts),
        "dim": encoder.dim,
    }


def mean_embeddings(encoder, texts_per_row: list[list[str]]) -> np.ndarray:
    """(rows, D): the L2-normalised mean of the embeddings of each row's texts, NaN for a row without texts.
    Each distinct text is encoded once, however many rows share it (template captions repeat per class)."""
    distinct = sorted({text for texts in texts_per_row for text in texts})
    vectors = encoder.encode(distinct) if distinct else np.zeros((0, encoder.dim), np.float32)
    position = {text: i for i, text in enumerate(distinct)}
    rows = np.full((len(texts_per_row), encoder.dim), np.nan, np.float32)
    for row, texts in enumerate(texts_per_row):
        if texts:
            rows[row] = vectors[[position[text] for text in texts]].mean(axis=0)
    has_texts = np.array([bool(texts) for texts in texts_per_row], bool)
    rows[has_texts] = l2_normalised(rows[has_texts])
    return rows
