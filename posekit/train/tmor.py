"""T-MOR (thesis ch. 6, sec. 6.3-6.4): a UNIK motion encoder trained against augmented copies of each window
(eq. 6.3), against the clip's video features (eq. 6.4, when given) and against the text of its class (eq. 6.6,
negatives from other classes only): the model and its trainer (``posekit train tmor``). Zero-shot, few-shot and
text search with the trained encoder are :mod:`posekit.train.transfer`'s.

The model, :class:`TMOR`, is :class:`~posekit.train.contrastive.ContrastivePretrainer` (MoCo: UNIK ``net``, phi,
momentum key encoder, queue; eq. 6.3 is its sequence term) with two more terms on the queries' phi(E_M(sk)):

- eq. 6.6: phi_T on the frozen text embeddings of ``/features/TEXT`` (each clip's captions, ``posekit text
  embed``), into the space of phi(E_M); :func:`~posekit.nets.tmor.class_text_infonce` with the batch's captions
  and the text rows (``/class_features/TEXT``) of the other training classes as negatives. Clips without a label
  or a caption add no text term. ``text_head`` (:data:`TEXT_HEADS`) chooses phi_T: ``mlp`` (2 layers into the
  128-d space of eq. 6.3, the thesis's "MLP-based projection"), ``linear`` (one bias-free linear map: an unseen
  class text lands where the seen texts it is made of do) or ``frozen`` (phi_T the identity; a second motion head
  maps E_M into the text encoder's own space, so the unseen class names keep the places the text encoder gave
  them, as zero-shot skeleton models that align with a frozen text space do).
- eq. 6.4: phi_V on the frozen ``/features/VIDEO`` rows, MoCo's InfoNCE against a queue of past clips' video
  features, kept unprojected and projected at every step (they are frozen: the queue never goes stale).

Downstream only ``net`` is needed: ``posekit train unik --init`` loads it as it loads pre-training's.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from mmengine.config import Config
from torch import nn

from ..errors import PosekitError
from ..nets.contrastive import NegativesQueue, ProjectionHead, sequence_infonce
from ..nets.tmor import class_text_infonce
from ..registry import MODELS, TRAINERS
from ..store import SkeletonStore
from .contrastive import ContrastivePretrainer, unwrapped
from .overrides import Trainer, config_path, run, write_metrics
from .pretrain import WINDOW_TRANSFORMS, keep_last_epoch, last_iterations, run_summary
from .pretrain import prepare_config as contrastive_config

CONFIG = "tmor/tmor_1xb32-text_store.py"
LOGGED = ("loss", "positive_top1", "class_top1")  # what metrics.json reports of the last iterations
TEXT_HEADS = ("mlp", "linear", "frozen")


@MODELS.register_module()
class TMOR(ContrastivePretrainer):
    """T-MOR (see the module notes): ``text_dim`` D_T of the text rows named ``text_feature``; ``num_classes``
    the store's classes (the class texts' buffer); ``video_feature`` / ``video_dim``: the video rows of eq. 6.4
    (None: no video term); ``text_weight`` / ``video_weight`` the weights of eq. 6.6 and 6.4 beside eq. 6.3's 1;
    ``text_head`` one of :data:`TEXT_HEADS` (see the module notes). The other arguments are
    :class:`~posekit.train.contrastive.ContrastivePretrainer`'s. Class texts
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
        text_head: str = "mlp",
        **contrastive,
    ):
        super().__init__(**contrastive)
        if (video_feature is None) != (video_dim is None):
            raise ValueError("give both video_feature and video_dim, or neither")
        if text_head not in TEXT_HEADS:
            raise ValueError(f"text_head is one of {', '.join(TEXT_HEADS)}, got {text_head!r}")
        dims = self.sequence_queue.keys.shape[1]
        self.text_feature, self.video_feature = text_feature, video_feature
        self.text_weight, self.video_weight = text_weight, video_weight
        self.text_projection = {
            "mlp": lambda: ProjectionHead(text_dim, dims),
            "linear": lambda: nn.Linear(text_dim, dims, bias=False),
            "frozen": nn.Identity,
        }[text_head]()
        # phi(E_M) of eq. 6.3 is the motion side of eq. 6.6 unless the text space is the encoder's own
        pooled_dim = self.projection.mlp[0].in_features
        self.motion_text_projection = ProjectionHead(pooled_dim, text_dim) if text_head == "frozen" else None
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
        losses, motion, pooled = self.contrastive_losses(keypoints)
        text_motion = self.text_space(motion, pooled)
        losses["loss_text"] = self.text_weight * self.text_loss(text_motion, features[self.text_feature], label)
        if self.class_known.any():
            losses["class_top1"] = self.class_top1(text_motion, label)
        if self.video_feature is not None:
            losses["loss_video"] = self.video_weight * self.video_loss(motion, features[self.video_feature])
        return losses

    def embed_clips(self, keypoints: torch.Tensor) -> torch.Tensor:
        """Unit-norm embeddings (N, D) of whole clips (N, C, T, V, M) in the texts' space: what zero-shot compares
        with texts."""
        return self.embed_pooled(self.net.features(keypoints))

    def embed_pooled(self, pooled: torch.Tensor) -> torch.Tensor:
        """Pooled features E_M (N, C) -> unit-norm embeddings (N, D) in the texts' space."""
        return self.text_space(F.normalize(self.projection(pooled), dim=-1), pooled)

    def text_space(self, motion: torch.Tensor, pooled: torch.Tensor) -> torch.Tensor:
        """The motion side of eq. 6.6: phi(E_M) ``motion`` (N, D) as it is, or, with a frozen text space, the
        unit-norm second head on the pooled E_M (N, C)."""
        if self.motion_text_projection is None:
            return motion
        return F.normalize(self.motion_text_projection(pooled), dim=-1)

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
    cfg: Config,
    store,
    work_dir,
    *,
    text_features: str = "text",
    video_features: str | None = None,
    text_head: str | None = None,
    text_weight: float | None = None,
    **options,
) -> Config:
    """The config of ``posekit train pretrain`` (the store's shape, the pipeline, the queue length; ``options``: its
    own and the shared ones: split, epochs, batch_size, project_2d...) with the text and video rows, the class
    count, ``text_head`` and ``text_weight`` (None: the config's) and the pipeline that embeds whole clips
    downstream."""
    cfg, _ = contrastive_config(cfg, store, work_dir, **options)
    if text_head is not None:
        cfg.model.text_head = text_head
    if text_weight is not None:
        cfg.model.text_weight = text_weight
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
    text_head: str | None = None,
    text_weight: float | None = None,
    trust_checkpoint: bool = False,
    **options,
) -> dict:
    """Train, copy the last epoch to ``work_dir/best.pth`` (nothing is held out to select an epoch on) and write
    ``work_dir/metrics.json``; ``options``: those of :func:`prepare_config`."""
    work_dir = Path(work_dir)
    path = config_path("tmor", config)
    cfg = prepare_config(
        Config.fromfile(path),
        store,
        work_dir,
        text_features=text_features,
        video_features=video_features,
        text_head=text_head,
        text_weight=text_weight,
        **options,
    )
    rows, known = class_text_rows(store, text_features, cfg.trained_on.train_classes)

    def load_class_texts(runner) -> None:
        unwrapped(runner.model).set_class_texts(rows, known)

    runner = run(cfg, trust_checkpoint=trust_checkpoint, before_training=load_class_texts)
    best = keep_last_epoch(runner, work_dir)
    model = cfg.model
    result = {
        **run_summary(cfg, runner, store, path),
        "train_classes": cfg.trained_on.train_classes,
        "class_text_negatives": int(unwrapped(runner.model).class_known.sum()),
        "text_features": text_features,
        "text_encoder": cfg.trained_on.text_encoder,
        "video_features": video_features,
        "text_weight": model.text_weight,
        "video_weight": model.video_weight,
        "text_head": model.get("text_head", "mlp"),
        **last_iterations(runner.message_hub, LOGGED),
        "best_checkpoint": str(best),
    }
    write_metrics(work_dir, result)
    return result


TRAINERS.register_module(name="tmor", module=Trainer(train, CONFIG))
