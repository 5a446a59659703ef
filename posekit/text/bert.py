"""A sentence-transformers BERT model (all-MiniLM-L6-v2 and its kind) in plain torch, without ``transformers``
(not in posekit's stack): ``tokenizers`` makes the word pieces from ``tokenizer.json``, the weights come from
``model.safetensors``, and the sentence vector is the mean of the last layer over the text's tokens, L2-normalised,
as sentence-transformers' Transformer -> Pooling (mean) -> Normalize modules compute it.

A model's folder (or zip archive) holds ``config.json``, ``tokenizer.json`` and ``model.safetensors``, and may hold
sentence-transformers' ``modules.json``, the pooling config it points to and ``sentence_bert_config.json``
(``max_seq_length``): a model whose modules do anything else (CLS pooling, a Dense layer) is refused rather than
embedded wrongly. Vectors are always L2-normalised, whether or not the model lists a Normalize module.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np

from ..errors import InputError

BATCH_SIZE = 64  # texts per forward pass
ST_MODULES = "sentence_transformers.models."
REQUIRED_FILES = ("config.json", "tokenizer.json", "model.safetensors")
BERT_SIZES = ("hidden_size", "num_attention_heads", "num_hidden_layers", "max_position_embeddings")


class ModelFiles:
    """The files of a model: a folder, or a zip archive with the files at its top."""

    def __init__(self, where: str | Path):
        self.where = Path(where)
        self._zip_names = None  # a folder's files are looked up on disk
        if zipfile.is_zipfile(self.where):
            with zipfile.ZipFile(self.where) as archive:
                self._zip_names = set(archive.namelist())
        elif not self.where.is_dir():
            raise InputError(f"{self.where}: not a model folder or zip archive")

    def has(self, name: str) -> bool:
        return (self.where / name).is_file() if self._zip_names is None else name in self._zip_names

    def read(self, name: str) -> bytes | None:
        """The bytes of file ``name`` (a path inside the model), None when the model has no such file."""
        if not self.has(name):
            return None
        if self._zip_names is None:
            return (self.where / name).read_bytes()
        with zipfile.ZipFile(self.where) as archive:
            return archive.read(name)

    def json(self, name: str) -> dict | list | None:
        data = self.read(name)
        try:
            return json.loads(data) if data is not None else None
        except ValueError as e:
            raise InputError(f"{self.where}: {name} is not JSON ({e})") from None


class SentenceEncoder:
    """Texts to (n, D) float32 unit vectors with a BERT model from ``files``; ``name`` is what the store records."""

    def __init__(self, files: ModelFiles, name: str, description: str):
        from safetensors.torch import load
        from tokenizers import Tokenizer

        missing = [file for file in REQUIRED_FILES if not files.has(file)]
        if missing:
            raise InputError(f"{files.where}: not a BERT model folder, no {', '.join(missing)}")
        self.name, self.description = name, description
        self.config = _bert_config(files)
        self.dim = self.config["hidden_size"]
        st_config = _check_modules(files, self.dim)
        positions = self.config["max_position_embeddings"]
        self.max_seq_length = min(int(st_config.get("max_seq_length", positions)), positions)
        self.lower_case = bool(st_config.get("do_lower_case", False))  # else the tokenizer's normaliser decides
        try:
            self.tokenizer = Tokenizer.from_str(files.read("tokenizer.json").decode("utf-8"))
            weights = load(files.read("model.safetensors"))
        except Exception as e:  # tokenizers and safetensors raise their own exception types on a malformed file
            raise InputError(f"{files.where}: tokenizer.json or model.safetensors cannot be read ({e})") from None
        self.tokenizer.enable_truncation(self.max_seq_length)
        self.tokenizer.enable_padding(pad_id=self.config["pad_token_id"])  # to the batch's longest text
        self.weights = {key.removeprefix("bert."): value.float() for key, value in weights.items()}
        last = f"encoder.layer.{self.config['num_hidden_layers'] - 1}.output.LayerNorm.weight"
        if "embeddings.word_embeddings.weight" not in self.weights or last not in self.weights:
            raise InputError(f"{files.where}: model.safetensors does not hold the weights of a BERT model")

    def tokenize(self, texts: list[str]):
        """Word-piece ids and attention mask, (n, L) int64 tensors, L = the longest text's tokens (truncated)."""
        import torch

        encodings = self.tokenizer.encode_batch([text.lower() if self.lower_case else text for text in texts])
        ids = torch.tensor([e.ids for e in encodings], dtype=torch.long)
        mask = torch.tensor([e.attention_mask for e in encodings], dtype=torch.long)
        return ids, mask

    def encode(self, texts: list[str]) -> np.ndarray:
        """(n, D) unit vectors, in the order of ``texts``; texts of similar length share a batch (less padding)."""
        import torch
        import torch.nn.functional as F

        order = np.argsort([-len(text) for text in texts], kind="stable")
        vectors = np.zeros((len(texts), self.dim), np.float32)
        with torch.inference_mode():
            for start in range(0, len(texts), BATCH_SIZE):
                batch = order[start : start + BATCH_SIZE]
                ids, mask = self.tokenize([texts[i] for i in batch])
                tokens = bert_forward(self.weights, self.config, ids, mask)
                pooled = mean_pool(tokens, mask)
                vectors[batch] = F.normalize(pooled, p=2, dim=1).numpy()
        return vectors


def mean_pool(tokens, mask):
    """The mean of each text's token vectors over its real tokens (mask 1), as sentence-transformers' Pooling."""
    weights = mask.unsqueeze(-1).to(tokens.dtype)
    return (tokens * weights).sum(1) / weights.sum(1).clamp(min=1e-9)


def bert_forward(weights: dict, config: dict, ids, mask):
    """The last hidden layer (n, L, H) of BERT (Devlin et al. 2019; Hugging Face's BertModel naming of weights):
    word + position + token-type embeddings, then post-norm layers of multi-head self-attention and a GELU MLP."""
    import torch
    import torch.nn.functional as F

    hidden, heads, eps = config["hidden_size"], config["num_attention_heads"], config["layer_norm_eps"]

    def norm(x, name):
        return F.layer_norm(x, (hidden,), weights[f"{name}.weight"], weights[f"{name}.bias"], eps)

    def linear(x, name):
        return F.linear(x, weights[f"{name}.weight"], weights[f"{name}.bias"])

    n, length = ids.shape
    x = (
        weights["embeddings.word_embeddings.weight"][ids]
        + weights["embeddings.position_embeddings.weight"][torch.arange(length)]
        + weights["embeddings.token_type_embeddings.weight"][0]
    )
    x = norm(x, "embeddings.LayerNorm")
    attend = mask.bool()[:, None, None, :]  # padding is never attended to
    for layer in range(config["num_hidden_layers"]):
        at = f"encoder.layer.{layer}"
        q, k, v = (
            linear(x, f"{at}.attention.self.{part}").view(n, length, heads, -1).transpose(1, 2)
            for part in ("query", "key", "value")
        )
        context = F.scaled_dot_product_attention(q, k, v, attn_mask=attend).transpose(1, 2).reshape(n, length, hidden)
        x = norm(x + linear(context, f"{at}.attention.output.dense"), f"{at}.attention.output.LayerNorm")
        mlp = linear(F.gelu(linear(x, f"{at}.intermediate.dense")), f"{at}.output.dense")
        x = norm(x + mlp, f"{at}.output.LayerNorm")
    return x


def _bert_config(files: ModelFiles) -> dict:
    """``config.json``, refused unless it describes the BERT that :func:`bert_forward` computes."""
    config = files.json("config.json")
    try:
        numbers = {key: int(config[key]) for key in BERT_SIZES}
        numbers["layer_norm_eps"] = float(config.get("layer_norm_eps", 1e-12))
        numbers["pad_token_id"] = int(config.get("pad_token_id", 0))
    except (KeyError, TypeError, ValueError) as e:
        raise InputError(f"{files.where}: config.json lacks a BERT size ({e})") from None
    unsupported = (
        config.get("model_type") != "bert"
        or config.get("hidden_act", "gelu") != "gelu"
        or config.get("position_embedding_type", "absolute") != "absolute"
    )
    if unsupported:
        raise InputError(f"{files.where}: config.json is not a BERT model with gelu and absolute positions")
    return numbers


def _check_modules(files: ModelFiles, dim: int) -> dict:
    """sentence-transformers' description of the model, refused unless it is Transformer -> mean Pooling
    (-> Normalize); returns ``sentence_bert_config.json`` ({} when absent)."""
    modules = files.json("modules.json")
    for module in modules or ():
        kind = str(module.get("type", "")).removeprefix(ST_MODULES)
        if kind == "Pooling":
            pooling = files.json(f"{module.get('path', '')}/config.json".lstrip("/")) or {}
            modes = sorted(
                key.removeprefix("pooling_mode_")
                for key, on in pooling.items()
                if key.startswith("pooling_mode_") and on
            )
            if modes != ["mean_tokens"] or int(pooling.get("word_embedding_dimension", dim)) != dim:
                raise InputError(f"{files.where}: pooling {', '.join(modes) or 'none'}; only mean pooling is supported")
        elif kind not in ("Transformer", "Normalize"):
            raise InputError(f"{files.where}: sentence-transformers module {kind!r} is not supported")
    return files.json("sentence_bert_config.json") or {}
