"""T-MOR (thesis ch. 6, sec. 6.3-6.4): a UNIK motion encoder trained against augmented copies of each window
(eq. 6.3), against the clip's video features (eq. 6.4, when given) and against the text of its class (eq. 6.6,
negatives from other classes only); then zero-shot classification (the class whose text embedding is nearest),
few-shot classification and text search, from skeletons alone.

The model, :class:`TMOR`, is :class:`~posekit.train.contrastive.ContrastivePretrainer` (MoCo: UNIK ``net``, phi,
momentum key encoder, queue; eq. 6.3 is its sequence term) with two more terms on the queries' phi(E_M(sk)):

- eq. 6.6: phi_T, a 2-layer MLP on the frozen text embeddings of ``/features/TEXT`` (each clip's captions,
  ``posekit text embed``), into the same 128-d space; :func:`~posekit.nets.tmor.class_text_infonce` with the
  batch's captions and the text rows (``/class_features/TEXT``) of the other training classes as negatives. Clips
  without a label or a caption add no text term.
- eq. 6.4: phi_V on the frozen ``/features/VIDEO`` rows, MoCo's InfoNCE against a queue of past clips' video
  features, kept unprojected and projected at every step (they are frozen: the queue never goes stale).

Downstream only ``net`` is needed: ``posekit train unik --init`` loads it as it loads pre-training's.

Transfer (:func:`zero_shot`, :func:`few_shot`, :func:`search`) reads a T-MOR checkpoint or, as the baseline, a
classifier (``posekit train unik``). A clip's embedding is, for T-MOR, phi(E_M(sk)); for a classifier, ConSE
(Norouzi et al., ICLR 2014): the mean of its training classes' text embeddings weighted by its softmax scores, in
the text encoder's space. Class texts are embedded by the encoder the text features were made with (the store's
``encoder`` attribute, recorded in the checkpoint), as ``posekit text embed`` embeds classes. Few-shot compares
the encoder's pooled feature E_M (256-d), the representation both kinds transfer, with class prototypes.
"""

from __future__ import annotations

import re
import shutil
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
from ..nets.contrastive import NegativesQueue, ProjectionHead, sequence_infonce
from ..nets.heads import global_pool
from ..nets.tmor import class_text_infonce
from ..registry import MODELS, TRAINERS
from ..store import SkeletonStore, atomic_path
from .contrastive import ContrastivePretrainer, unwrapped
from .overrides import Trainer, config_path, run, write_metrics
from .pretrain import WINDOW_TRANSFORMS
from .pretrain import prepare_config as contrastive_config

CONFIG = "tmor/tmor_1xb32-text_store.py"
BASELINE_TEMPERATURE = 0.1  # a classifier's zero-shot scores: softmax of cosines over T-MOR's default temperature
LOGGED = ("loss", "positive_top1", "class_top1")  # what metrics.json reports of the last iterations


@MODELS.register_module()
class TMOR(ContrastivePretrainer):
    """T-MOR (see the module notes): ``text_dim`` D_T of the text rows named ``text_feature``; ``num_classes``
    the store's classes (the class texts' buffer); ``video_feature`` / ``video_dim``: the video rows of eq. 6.4
    (None: no video term); ``text_weight`` / ``video_weight`` the weights of eq. 6.6 and 6.4 beside eq. 6.3's 1.
    The other arguments are :class:`~posekit.train.contrastive.ContrastivePretrainer`'s. Class texts
    (:meth:`set_class_texts`) are buffers: saved, restored on resume."""

    def __init__(
        self,
        text_dim: int,
        num_classes: int,
        text_feature: str = "text",
        video_feature: str | None = None,
        video_dim: int | None = None,
        text_weight: float = 1.0,
        video_weight: float = 1.0,
        **contrastive,
    ):
        super().__init__(**contrastive)
        if (video_feature is None) != (video_dim is None):
            raise ValueError("give both video_feature and video_dim, or neither")
        dims = self.sequence_queue.keys.shape[1]
        self.text_feature, self.video_feature = text_feature, video_feature
        self.text_weight, self.video_weight = text_weight, video_weight
        self.text_projection = ProjectionHead(text_dim, dims)
        self.register_buffer("class_texts", torch.zeros(num_classes, text_dim))
        self.register_buffer("class_known", torch.zeros(num_classes, dtype=torch.bool))
        self.video_projection = ProjectionHead(video_dim, dims) if video_feature else None
        self.video_queue = NegativesQueue(self.sequence_queue.size, (video_dim,)) if video_feature else None

    @torch.no_grad()
    def set_class_texts(self, rows: torch.Tensor, known: torch.Tensor) -> None:
        """The text rows (K, D_T) of the classes, those of classes ``known`` (K,) bool (the training classes)
        used as negatives; a NaN row (a class without text) never is."""
        known = known & ~rows.isnan().any(dim=1)
        self.class_texts.copy_(rows.nan_to_num(0.0))
        self.class_known.copy_(known)

    def forward(self, keypoints, mode="loss", label=None, index=None, id=None, length=None, features=None):
        if mode == "tensor":
            return self.embed_clips(keypoints)
        if mode != "loss":
            raise ValueError(f"TMOR trains (mode 'loss') or embeds (mode 'tensor'), got mode {mode!r}")
        losses, motion = self.contrastive_losses(keypoints)
        losses["loss_text"] = self.text_weight * self.text_loss(motion, features[self.text_feature], label)
        if self.class_known.any():
            losses["class_top1"] = self.class_top1(motion, label)
        if self.video_feature is not None:
            losses["loss_video"] = self.video_weight * self.video_loss(motion, features[self.video_feature])
        return losses

    def embed_clips(self, keypoints: torch.Tensor) -> torch.Tensor:
        """Unit-norm phi(E_M(sk)) (N, D) of whole clips (N, C, T, V, M): what zero-shot compares with texts."""
        return F.normalize(self.projection(self.net.features(keypoints)), dim=-1)

    def embed_texts(self, rows: torch.Tensor) -> torch.Tensor:
        """Unit-norm phi_T of text embeddings (K, D_T) -> (K, D)."""
        return F.normalize(self.text_projection(F.normalize(rows, dim=-1)), dim=-1)

    def known_classes(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The training classes' indices (K',) and their unprojected text rows (K', D_T)."""
        known = self.class_known.nonzero().squeeze(1)
        return known, self.class_texts[known]

    def text_loss(self, motion: torch.Tensor, texts: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Eq. 6.6 over the clips with a label and a caption (zero when there are none)."""
        usable = (labels >= 0) & ~texts.isnan().any(dim=1)
        if not usable.any():
            return motion.new_zeros(())
        classes, class_rows = self.known_classes()
        return class_text_infonce(
            motion[usable],
            self.text_projection(F.normalize(texts[usable], dim=-1)),
            labels[usable],
            self.text_projection(F.normalize(class_rows, dim=-1)),
            classes,
            self.temperature,
        )

    def video_loss(self, motion: torch.Tensor, videos: torch.Tensor) -> torch.Tensor:
        """Eq. 6.4: each clip's own video features the positive, the queue's the negatives; then enqueued."""
        usable = ~videos.isnan().any(dim=1)
        if not usable.any():
            return motion.new_zeros(())
        videos = F.normalize(videos[usable], dim=-1)
        # a copy: the projection keeps its input for the backward pass, and enqueue overwrites the queue in place
        negatives = self.video_projection(self.video_queue.keys.clone())
        loss = sequence_infonce(motion[usable], self.video_projection(videos)[:, None], negatives, self.temperature)
        self.video_queue.enqueue(videos)
        return loss

    @torch.no_grad()
    def class_top1(self, motion: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Percentage of labelled queries whose nearest training-class text is their class's: zero-shot accuracy on
        augmented training windows, a diagnostic of the text term (chance: 1 / training classes)."""
        classes, class_rows = self.known_classes()
        labelled = labels >= 0
        nearest = classes[(motion[labelled] @ self.embed_texts(class_rows).T).argmax(dim=1)]
        return 100 * (nearest == labels[labelled]).float().mean()


# -- training ---------------------------------------------------------------------------------------------------------
def prepare_config(
    cfg: Config, store, work_dir, *, text_features: str = "text", video_features: str | None = None, **options
) -> Config:
    """The config of ``posekit train pretrain`` (the store's shape, the pipeline, the queue length; ``options``: its
    own and the shared ones: split, epochs, batch_size...) with the text and video rows, the class count and the
    pipeline that embeds whole clips downstream."""
    cfg, _ = contrastive_config(cfg, store, work_dir, **options)
    split = cfg.trained_on.split
    with SkeletonStore(store) as info:
        text_dim = _feature_dim(info, store, text_features, "--text-features")
        video_dim = _feature_dim(info, store, video_features, "--video-features") if video_features else None
        encoder = info.encoders.get(f"features/{text_features}")
        if encoder is None:
            raise PosekitError(
                f"{store}: features/{text_features} records no text encoder; write it with `posekit text embed`"
            )
        train_classes = _labelled_classes(info, store, split)
        classes = list(info.classes)
    cfg.model.update(
        text_feature=text_features,
        text_dim=text_dim,
        num_classes=len(classes),
        video_feature=video_features,
        video_dim=video_dim,
    )
    dataset = cfg.train_dataloader.dataset
    dataset.feature_rows = [text_features] + ([video_features] if video_features else [])
    cfg.embed_pipeline = [t for t in dataset.pipeline if t["type"] not in WINDOW_TRANSFORMS]
    cfg.trained_on.update(
        text_features=text_features,
        text_encoder=encoder,
        video_features=video_features,
        classes=classes,
        train_classes=[classes[k] for k in train_classes],
    )
    return cfg


def _feature_dim(info: SkeletonStore, store, name: str, option: str) -> int:
    if name not in info.feature_names:
        raise PosekitError(
            f"{store}: no per-clip features {name!r} ({option}); it has {', '.join(info.feature_names) or 'none'}: "
            f"`posekit text caption` and `posekit text embed` write text ones"
        )
    return int(info.file["features"][name].shape[1])


def _labelled_classes(info: SkeletonStore, store, split: str) -> list[int]:
    """The classes of the split's labelled clips; eq. 6.6 needs two at least (its negatives are other classes)."""
    labels = np.unique(info.labels[info.split(split)])
    labels = labels[labels >= 0].tolist()
    if len(labels) < 2:
        raise PosekitError(
            f"{store} [{split}]: labelled clips of {len(labels)} class(es); the text term (eq. 6.6) contrasts "
            f"a clip with the texts of other classes and needs two at least"
        )
    return labels


def class_text_rows(store, text_features: str, train_classes: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
    """The store's class text rows (K, D_T), NaN where there are none, and which classes trained (K,) bool."""
    with SkeletonStore(store) as info:
        dim = int(info.file["features"][text_features].shape[1])
        has_rows = text_features in info.class_feature_names
        rows = info.class_feature(text_features) if has_rows else np.full((len(info.classes), dim), np.nan)
        known = np.isin(info.classes, train_classes)
    return torch.from_numpy(np.asarray(rows, dtype=np.float32)), torch.from_numpy(known)


def train(
    store,
    work_dir,
    *,
    config=None,
    text_features: str = "text",
    video_features: str | None = None,
    trust_checkpoint: bool = False,
    **options,
) -> dict:
    """Train, copy the last epoch to ``work_dir/best.pth`` (nothing is held out to select an epoch on) and write
    ``work_dir/metrics.json``; ``options``: those of :func:`prepare_config`."""
    work_dir = Path(work_dir)
    path = config_path("tmor", config)
    cfg = prepare_config(
        Config.fromfile(path), store, work_dir, text_features=text_features, video_features=video_features, **options
    )
    rows, known = class_text_rows(store, text_features, cfg.trained_on.train_classes)

    def load_class_texts(runner) -> None:
        unwrapped(runner.model).set_class_texts(rows, known)

    runner = run(cfg, trust_checkpoint=trust_checkpoint, before_training=load_class_texts)
    best = work_dir / "best.pth"
    with atomic_path(best) as tmp:
        shutil.copyfile(runner.message_hub.get_info("last_ckpt") or work_dir / f"epoch_{runner.epoch}.pth", tmp)
    model = cfg.model
    result = {
        "store": str(store),
        "split": cfg.trained_on.split,
        "config": str(path),
        "epochs": cfg.train_cfg.max_epochs,
        "seed": cfg.randomness.get("seed"),
        "window": model.window,
        "batch_size": cfg.train_dataloader.batch_size,
        "train_windows": len(runner.train_dataloader.dataset),
        "train_classes": cfg.trained_on.train_classes,
        "class_text_negatives": int(unwrapped(runner.model).class_known.sum()),
        "text_features": text_features,
        "text_encoder": cfg.trained_on.text_encoder,
        "video_features": video_features,
        "queue_size": model.queue_size,
        "temperature": model.temperature,
        "text_weight": model.text_weight,
        "video_weight": model.video_weight,
        **_last_means(runner.message_hub),
        "best_checkpoint": str(best),
    }
    write_metrics(work_dir, result)
    return result


def _last_means(hub) -> dict:
    """The logged terms of :data:`LOGGED`, means over the last iterations (posekit.checkpoints.LAST_ITERATIONS)."""
    names = [name for name in hub.log_scalars if name.removeprefix("train/").startswith(LOGGED)]
    return {
        name.removeprefix("train/"): float(hub.get_scalar(name).mean(checkpoints.LAST_ITERATIONS)) for name in names
    }


TRAINERS.register_module(name="tmor", module=Trainer(train, CONFIG))


# -- transfer: zero-shot, few-shot, search ----------------------------------------------------------------------------
@dataclass
class Embedder:
    """A trained checkpoint as transfer reads it: ``kind`` ``tmor`` or ``classifier``, its model (eval mode), the
    pipeline that prepares whole clips, its layout, the text encoder of its space, the softmax temperature of its
    scores and, for a classifier, its training classes' text embeddings (ConSE's semantic space)."""

    kind: str
    model: nn.Module
    pipeline: list
    layout: Layout
    encoder: object
    temperature: float
    seen_texts: torch.Tensor | None = None

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
                joint.append(F.normalize(self.model.projection(features), dim=-1))
            else:  # ConSE: the training classes' texts weighted by the softmax scores
                scores = self.model.net.head(feature_map).softmax(dim=1)
                joint.append(F.normalize(scores @ self.seen_texts, dim=-1))
        return torch.cat(joint), torch.cat(pooled)

    def pipeline_for(self, store) -> list:
        """The pipeline, after a joint remap when the store's layout is not the model's (matched by name)."""
        with SkeletonStore(store) as info:
            if info.layout.joints == self.layout.joints:
                return self.pipeline
            if not mapping(info.layout, self.layout).matched.any():
                raise PosekitError(
                    f"{store}: layout {info.layout.name!r} shares no joint with the model's {self.layout.name!r}"
                )
        return [dict(type="RemapLayout", target=self.layout.to_json())] + self.pipeline


def load_embedder(checkpoint, store, *, text_features: str = "text", trust: bool = False) -> Embedder:
    """The embedder of a T-MOR or classifier checkpoint, its text encoder checked against the store's."""
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
    if kind == "tmor":
        return Embedder(kind, model, list(cfg.embed_pipeline), _layout(trained), encoder, cfg.model.temperature)
    from ..text.captions import class_phrase
    from ..text.embed import mean_embeddings

    seen = torch.from_numpy(mean_embeddings(encoder, [[class_phrase(name)] for name in trained.classes]))
    pipeline = list(cfg.test_dataloader.dataset.pipeline)  # ends with its stream transform
    return Embedder(kind, model, pipeline, _layout(trained), encoder, BASELINE_TEMPERATURE, seen)


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
    trust_checkpoint: bool = False,
) -> dict:
    """Each clip of the split (of the ``unseen`` classes only, when given) labelled by the nearest class text;
    writes ``metrics.json``, ``scores.pkl`` (softmax of the cosines over the temperature, for ``posekit fuse``)
    and ``confusion.png`` to ``work_dir``. Returns the metrics."""
    from .metric import ClipAccuracy

    Path(work_dir).mkdir(parents=True, exist_ok=True)
    embedder = load_embedder(checkpoint, store, text_features=text_features, trust=trust_checkpoint)
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
    trust_checkpoint: bool = False,
) -> dict:
    """``shots`` labelled clips per class of ``support_split`` (draw d seeded with d), their mean pooled feature a
    prototype, each clip of ``split`` labelled by the nearest prototype (cosine); the mean and standard deviation
    over ``draws`` draws, and each draw's figures, into ``work_dir/metrics.json``."""
    from .metric import accuracy

    if shots < 1 or draws < 1:
        raise PosekitError(f"--shots and --draws must be at least 1, got {shots} and {draws}")
    Path(work_dir).mkdir(parents=True, exist_ok=True)
    embedder = load_embedder(checkpoint, store, text_features=text_features, trust=trust_checkpoint)
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
    trust_checkpoint: bool = False,
) -> list[dict]:
    """The ``top`` clips of the store (or of ``split``) nearest the sentence: rank, id, cosine, class name (None for
    an unlabelled clip)."""
    if not sentence.strip():
        raise PosekitError("give a sentence to search for")
    embedder = load_embedder(checkpoint, store, text_features=text_features, trust=trust_checkpoint)
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
