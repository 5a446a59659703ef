"""Transfer of a trained motion encoder (thesis ch. 6, sec. 6.3.4), from skeletons alone: zero-shot classification
(:func:`zero_shot`: the class whose text embedding is nearest), few-shot classification (:func:`few_shot`: the
nearest class prototype) and text search (:func:`search`), on the embeddings of :func:`load_embedder`.

They read a T-MOR checkpoint (:mod:`posekit.train.tmor`) or, as the baseline, a classifier (``posekit train unik``).
A clip's embedding is, for T-MOR, phi(E_M(sk)); for a classifier, ConSE (Norouzi et al., ICLR 2014): the mean of its
training classes' text embeddings weighted by its softmax scores, in the text encoder's space. Class texts are
embedded by the encoder the text features were made with (the store's ``encoder`` attribute, recorded in the
checkpoint), as ``posekit text embed`` embeds classes. Few-shot compares the encoder's pooled feature E_M (256-d),
the representation both kinds transfer, with class prototypes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from mmengine.config import Config
from torch import nn

from .. import checkpoints
from ..errors import InputError, PosekitError
from ..layouts import Layout, mapping
from ..nets.heads import global_pool
from ..registry import MODELS
from ..store import SkeletonStore
from .overrides import write_metrics

BASELINE_TEMPERATURE = 0.1  # a classifier's zero-shot scores: softmax of cosines over T-MOR's default temperature


@dataclass
class Embedder:
    """A trained checkpoint as transfer reads it: ``kind`` ``tmor`` or ``classifier``, its model (eval mode), the
    pipeline that prepares whole clips, its layout, the text encoder of its space, the softmax temperature of its
    scores, for a classifier its training classes' text embeddings (ConSE's semantic space), the coordinates it
    reads and whether a 3D store is to be read as its 2D camera view (``project_2d``)."""

    kind: str
    model: nn.Module
    pipeline: list
    layout: Layout
    encoder: object
    temperature: float
    seen_texts: torch.Tensor | None = None
    coord_dims: int | None = None
    project_2d: bool = False

    def embed_texts(self, texts: list[list[str]]) -> torch.Tensor:
        """Unit-norm embeddings (K, D) in the clips' space of each row's texts (the mean of their encodings, as
        ``posekit text embed`` embeds a class)."""
        from ..text.embed import mean_embeddings

        rows = torch.from_numpy(mean_embeddings(self.encoder, texts))
        with torch.no_grad():
            return self.model.embed_texts(rows) if self.kind == "tmor" else F.normalize(rows, dim=-1)

    @torch.no_grad()
    def embed_clips(self, store, indices: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        """Unit-norm embeddings (N, D) in the texts' space and unit-norm pooled features E_M (N, 256) of the
        store's clips ``indices``, one clip at a time (no padding in the pooled means)."""
        from torch.utils.data import DataLoader

        from ..data import collate_clips
        from .datasets import StoreClips

        dataset = StoreClips(str(store), pipeline=self.pipeline_for(store))
        dataset.indices = np.asarray(indices)
        joint, pooled = [], []
        for batch in DataLoader(dataset, batch_size=1, collate_fn=collate_clips):
            feature_map = self.model.net.feature_map(batch["keypoints"])
            features = global_pool(feature_map)
            pooled.append(F.normalize(features, dim=-1))
            if self.kind == "tmor":
                joint.append(self.model.embed_pooled(features))
            else:  # ConSE: the training classes' texts weighted by the softmax scores
                scores = self.model.net.head(feature_map).softmax(dim=1)
                joint.append(F.normalize(scores @ self.seen_texts, dim=-1))
        return torch.cat(joint), torch.cat(pooled)

    def pipeline_for(self, store) -> list:
        """The pipeline, after a joint remap when the store's layout is not the model's (matched by name). With
        ``project_2d`` (a model of 2D joints on a 3D store of another dataset), the store's own normalisation, then
        its 2D camera view, replace the model's normalisation; a model trained with --project-2d projects already."""
        from .api import NORMALISATIONS, default_normalisation

        pipeline = self.pipeline
        projects = any(t["type"] == "Project2D" for t in pipeline)
        with SkeletonStore(store) as info:
            if self.project_2d and info.coord_dims != 3:
                raise PosekitError(f"--project-2d reads 3D joints; {store} has {info.coord_dims}D joints")
            if self.project_2d and not projects:
                kept = [t for t in pipeline if t["type"] not in NORMALISATIONS]
                pipeline = [*default_normalisation(info), dict(type="Project2D"), *kept]
                projects = True
            dims = 2 if projects else info.coord_dims
            if self.coord_dims and dims != self.coord_dims:
                hint = ": add --project-2d to read them as their 2D camera view" if dims == 3 else ""
                raise PosekitError(f"{store}: {dims}D joints; the model reads {self.coord_dims}D joints{hint}")
            if info.layout.joints == self.layout.joints:
                return pipeline
            if not mapping(info.layout, self.layout).matched.any():
                raise PosekitError(
                    f"{store}: layout {info.layout.name!r} shares no joint with the model's {self.layout.name!r}"
                )
        return [dict(type="RemapLayout", target=self.layout.to_json())] + pipeline


def load_embedder(
    checkpoint, store, *, text_features: str = "text", project_2d: bool = False, trust: bool = False
) -> Embedder:
    """The embedder of a T-MOR or classifier checkpoint, its text encoder checked against the store's;
    ``project_2d``: read the store's 3D joints as their 2D camera view."""
    state = checkpoints.load(checkpoint, trust=trust)
    cfg = checkpoints.training_config(state, checkpoint, trust=trust)
    trained = cfg.get("trained_on")
    kind = {"TMOR": "tmor", "SkeletonRecognizer": "classifier"}.get(cfg.model.type)
    if kind is None or trained is None:
        raise PosekitError(
            f"{checkpoint}: a {cfg.model.type} checkpoint; zero-shot, few-shot and search read those of "
            f"posekit train tmor and of the classifiers (posekit train unik)"
        )
    model = MODELS.build(cfg.model)
    model.load_state_dict(state.get("state_dict", state))
    model.eval()
    encoder_name = _encoder_name(cfg, checkpoint, store, text_features)
    encoder = recorded_encoder(encoder_name)
    reads = dict(coord_dims=trained.get("coord_dims"), project_2d=project_2d)
    if kind == "tmor":
        pipeline, temperature = list(cfg.embed_pipeline), cfg.model.temperature
        return Embedder(kind, model, pipeline, _layout(trained), encoder, temperature, **reads)
    from ..text.captions import class_phrase
    from ..text.embed import mean_embeddings

    seen = torch.from_numpy(mean_embeddings(encoder, [[class_phrase(name)] for name in trained.classes]))
    pipeline = list(cfg.test_dataloader.dataset.pipeline)  # ends with its stream transform
    return Embedder(kind, model, pipeline, _layout(trained), encoder, BASELINE_TEMPERATURE, seen, **reads)


def _layout(trained) -> Layout:
    return Layout.from_json(trained["layout"])


def _encoder_name(cfg: Config, checkpoint, store, text_features: str) -> str:
    """T-MOR: the encoder its text projection was trained on, which the store's text features must share; a
    classifier: the encoder of the store's text features."""
    with SkeletonStore(store) as info:
        stored = info.encoders.get(f"class_features/{text_features}") or info.encoders.get(f"features/{text_features}")
    recorded = cfg.trained_on.get("text_encoder")
    if recorded and stored and stored != recorded:
        raise PosekitError(
            f"{store}: text features {text_features!r} are of encoder {stored}, {checkpoint} was trained on "
            f"{recorded}: embed them with `posekit text embed --encoder {recorded} --name NAME` and pass "
            f"--text-features NAME"
        )
    if not (recorded or stored):
        raise PosekitError(
            f"{store}: no text features {text_features!r} to take the text encoder from; `posekit text embed "
            f"{store}` writes them (or --text-features NAME)"
        )
    return recorded or stored


def recorded_encoder(name: str):
    """The text encoder a store's ``encoder`` attribute names: ``bow-N`` (the bag of words of N buckets), a
    registered name (``minilm``) or a model folder."""
    from ..text.encoders import BagOfWords, get_encoder

    buckets = re.fullmatch(r"bow-(\d+)", name)
    return BagOfWords(int(buckets.group(1))) if buckets else get_encoder(name)


@dataclass
class Evaluated:
    """The clips and classes a transfer is scored on: ``classes`` (store indices, in scoring order), their names,
    ``indices`` of the clips of those classes in the split and their ``labels`` (positions in ``classes``)."""

    classes: list[int]
    names: list[str]
    indices: np.ndarray
    labels: np.ndarray


def evaluated(info: SkeletonStore, store, split: str, unseen: list[str] | None) -> Evaluated:
    """The split's clips of the ``unseen`` classes (names; None: every class), choosing among those classes."""
    names = list(info.classes)
    chosen = list(range(len(names)))
    if unseen:
        unknown = [name for name in unseen if name not in names]
        if unknown:
            raise PosekitError(f"{store}: no class {unknown[0]!r}; classes: {', '.join(names)}")
        chosen = [names.index(name) for name in dict.fromkeys(unseen)]
    indices = info.split(split)
    labels = info.labels[indices]
    keep = np.isin(labels, chosen)
    if not keep.any():
        raise PosekitError(f"{store} [{split}]: no clip of the classes scored")
    position = {c: k for k, c in enumerate(chosen)}
    return Evaluated(chosen, [names[c] for c in chosen], indices[keep], np.array([position[y] for y in labels[keep]]))


def class_texts(info: SkeletonStore, store, classes_file=None) -> list[list[str]]:
    """The texts of each store class: its name as words and its description (``posekit text embed``'s class
    rows), or line k of ``classes_file`` for class k (a name, as words, or a description)."""
    from ..text.captions import class_phrase

    if classes_file is None:
        return [[class_phrase(n)] + ([d] if d.strip() else []) for n, d in zip(info.classes, info.class_descriptions)]
    try:
        lines = [line.strip() for line in Path(classes_file).read_text(encoding="utf-8").splitlines() if line.strip()]
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(f"{classes_file}: cannot read class texts ({e})") from None
    if len(lines) != len(info.classes):
        raise InputError(
            f"{classes_file}: {len(lines)} class texts for the {len(info.classes)} classes of {store}; "
            f"give one line per class, in the store's order ({', '.join(info.classes[:3])}...)"
        )
    return [[line if " " in line else class_phrase(line)] for line in lines]


def zero_shot(
    checkpoint,
    store,
    *,
    work_dir,
    split: str = "test",
    classes_file=None,
    unseen: list[str] | None = None,
    text_features: str = "text",
    project_2d: bool = False,
    trust_checkpoint: bool = False,
) -> dict:
    """Each clip of the split (of the ``unseen`` classes only, when given) labelled by the nearest class text;
    writes ``metrics.json``, ``scores.pkl`` (softmax of the cosines over the temperature, for ``posekit fuse``)
    and ``confusion.png`` to ``work_dir``. Returns the metrics."""
    from .metric import ClipAccuracy

    Path(work_dir).mkdir(parents=True, exist_ok=True)
    embedder = load_embedder(
        checkpoint, store, text_features=text_features, project_2d=project_2d, trust=trust_checkpoint
    )
    with SkeletonStore(store) as info:
        scored = evaluated(info, store, split, unseen)
        texts = class_texts(info, store, classes_file)
        ids = info.ids[scored.indices]
    class_embeddings = embedder.embed_texts([texts[c] for c in scored.classes])
    clips, _ = embedder.embed_clips(store, scored.indices)
    scores = (clips @ class_embeddings.T / embedder.temperature).softmax(dim=1)
    metric = ClipAccuracy(out_dir=str(work_dir), class_names=scored.names)
    metric.process(None, [{"id": i, "label": y, "scores": s} for i, y, s in zip(ids, scored.labels, scores)])
    metrics = metric.compute_metrics(metric.results)
    result = {
        "checkpoint": str(checkpoint),
        "kind": embedder.kind,
        "store": str(store),
        "split": split,
        "classes": scored.names,
        "class_texts": [texts[c] for c in scored.classes],
        "clips": len(scored.indices),
        "chance": 100 / len(scored.classes),
        **metrics,
    }
    write_metrics(work_dir, result)
    return result


def few_shot(
    checkpoint,
    store,
    *,
    shots: int,
    draws: int = 5,
    work_dir,
    split: str = "test",
    support_split: str = "train",
    unseen: list[str] | None = None,
    text_features: str = "text",
    project_2d: bool = False,
    trust_checkpoint: bool = False,
) -> dict:
    """``shots`` labelled clips per class of ``support_split`` (draw d seeded with d), their mean pooled feature a
    prototype, each clip of ``split`` labelled by the nearest prototype (cosine); the mean and standard deviation
    over ``draws`` draws, and each draw's figures, into ``work_dir/metrics.json``."""
    from .metric import accuracy

    if shots < 1 or draws < 1:
        raise PosekitError(f"--shots and --draws must be at least 1, got {shots} and {draws}")
    Path(work_dir).mkdir(parents=True, exist_ok=True)
    embedder = load_embedder(
        checkpoint, store, text_features=text_features, project_2d=project_2d, trust=trust_checkpoint
    )
    with SkeletonStore(store) as info:
        scored = evaluated(info, store, split, unseen)
        pool = evaluated(info, store, support_split, scored.names)
    _check_support(pool, shots, store, support_split)
    _, test_features = embedder.embed_clips(store, scored.indices)
    _, pool_features = embedder.embed_clips(store, pool.indices)
    per_draw = []
    for draw in range(draws):
        prototypes = _prototypes(pool_features, pool.labels, len(scored.classes), shots, draw)
        per_draw.append(accuracy((test_features @ prototypes.T).numpy(), scored.labels))
    result = {
        "checkpoint": str(checkpoint),
        "kind": embedder.kind,
        "store": str(store),
        "split": split,
        "support_split": support_split,
        "shots": shots,
        "draws": draws,
        "classes": scored.names,
        "clips": len(scored.indices),
        "chance": 100 / len(scored.classes),
        **{f"{k}_mean": float(np.mean([d[k] for d in per_draw])) for k in per_draw[0]},
        **{f"{k}_std": float(np.std([d[k] for d in per_draw])) for k in per_draw[0]},
        "per_draw": per_draw,
    }
    write_metrics(work_dir, result)
    return result


def _check_support(pool: Evaluated, shots: int, store, split: str) -> None:
    counts = np.bincount(pool.labels, minlength=len(pool.classes))
    if counts.min() < shots:
        short = pool.names[int(counts.argmin())]
        raise PosekitError(f"{store} [{split}]: class {short!r} has {counts.min()} clips, fewer than --shots {shots}")


def _prototypes(features: torch.Tensor, labels: np.ndarray, num_classes: int, shots: int, seed: int) -> torch.Tensor:
    """(classes, D) unit-norm means of ``shots`` clips of each class, drawn with ``seed``."""
    rng = np.random.default_rng(seed)
    rows = [rng.choice(np.flatnonzero(labels == c), size=shots, replace=False) for c in range(num_classes)]
    return F.normalize(torch.stack([features[r].mean(dim=0) for r in rows]), dim=-1)


def search(
    checkpoint,
    store,
    sentence: str,
    *,
    top: int = 10,
    split: str | None = None,
    text_features: str = "text",
    project_2d: bool = False,
    trust_checkpoint: bool = False,
) -> list[dict]:
    """The ``top`` clips of the store (or of ``split``) nearest the sentence: rank, id, cosine, class name (None for
    an unlabelled clip)."""
    if not sentence.strip():
        raise PosekitError("give a sentence to search for")
    embedder = load_embedder(
        checkpoint, store, text_features=text_features, project_2d=project_2d, trust=trust_checkpoint
    )
    with SkeletonStore(store) as info:
        indices = info.split(split)
        ids, labels, names = info.ids[indices], info.labels[indices], list(info.classes)
    if not len(indices):
        raise PosekitError(f"{store}{f' [{split}]' if split else ''}: no clip to search")
    query = embedder.embed_texts([[sentence]])
    clips, _ = embedder.embed_clips(store, indices)
    similarity = (clips @ query.T).squeeze(1)
    best = torch.argsort(similarity, descending=True)[:top].tolist()
    return [
        {
            "rank": rank + 1,
            "id": str(ids[k]),
            "score": float(similarity[k]),
            "label": names[labels[k]] if labels[k] >= 0 else None,
        }
        for rank, k in enumerate(best)
    ]
