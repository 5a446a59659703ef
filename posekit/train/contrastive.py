"""ContrastivePretrainer: self-supervised MoCo pre-training of UNIK with P positives per query (thesis ch. 4: LAC's
contrastive module, sec. 4.3.2, eq. 4.6-4.8; ViA, sec. 4.4), and MomentumEncoderHook, which moves its key encoder.

One training step on a batch of unlabelled windows (N, C, T, V, M):

1. :class:`~posekit.nets.positives.PositiveViews` makes the query and P positive keys of each window: independent
   augmentations of it (``augment``), or views decoded by the frozen motion generator with other Statics
   (``retarget``, ViA) or with a composed Motion (``compose``, LAC), then augmented.
2. The query encoder, UNIK (``self.net``: its weights are ``net.*`` as in a recognizer, so ``posekit train unik
   --init`` loads them) and the projection head phi, embeds the queries: the sequence feature phi(E_Vs) and the
   per-frame features phi(E_Vf) (:func:`~posekit.nets.contrastive.embed`); the key encoder embeds the keys.
3. L_q = ``sequence_infonce`` (eq. 4.6) + ``frame_weight`` x ``frame_infonce`` (eq. 4.7) against the two queues
   of negatives; the first positive key of each window is then enqueued.
4. After the optimiser step, :class:`MomentumEncoderHook` moves the key encoder: k <- m k + (1 - m) q, m rising
   from 0.994 to 1 on a half cosine over the run's iterations.

Choices:
- MoCo's BatchNorm per GPU, on one device (``batchnorm_groups``): the queries pass UNIK in G consecutive groups and
  the keys, shuffled, in G groups, each normalised by its own batch statistics, as MoCo's queries are per GPU and
  its keys shuffled across GPUs. Keys normalised with their own queries' statistics let the query find its
  positives by that batch signature rather than by content (every positive comes from the current batch, every
  negative from an older one). Keys on running statistics (eval mode) have no signature but are wrong otherwise:
  the momentum encoder's weights lag those the statistics were measured with. On N-UCLA (3 epochs, 2D, augment
  positives), the 1-nearest-neighbour accuracy of the test clips among the training clips was 57.1% with G = 4,
  51.7% with G = 1 (one batch) and 50.4% before training.
- UNIK's classifier is removed: without labels it has nothing to learn, and downstream training re-creates it.
- ``positive_top1`` (logged each iteration): how often a query's most similar key, among its P positives and the
  queue, is one of its positives; chance is P / (P + queue size). An unsupervised diagnostic of the pretext task
  on augmented training windows, not of the representation.
- With ``generator_mirror_x``, x is negated around the generator: ``posekit synth views`` renders 3D joints as
  (x, -y), the generator's training data, while ``Project2D`` (``--project-2d``) gives (-x, -y), the camera's
  view of Kinect coordinates; the same 3D window would reach the generator mirrored otherwise.
"""

from __future__ import annotations

import math

import torch
from mmengine.hooks import Hook
from mmengine.model import BaseModel, is_model_wrapper
from torch import nn

from ..nets.contrastive import KeyEncoder, NegativesQueue, embed, frame_infonce, sequence_infonce
from ..nets.heads import global_pool
from ..nets.units import STACK_STRIDES
from ..registry import HOOKS, MODELS


def feature_frames(window: int) -> int:
    """T' of UNIK's feature map for windows of ``window`` frames: each strided block keeps ceil(T / stride)."""
    frames = window
    for stride in STACK_STRIDES:
        frames = math.ceil(frames / stride)
    return frames


@MODELS.register_module()
class ContrastivePretrainer(BaseModel):
    """UNIK (``net``) pre-trained by InfoNCE with P positives (see the module notes).

    ``views``: a :class:`~posekit.nets.positives.PositiveViews` config; ``window``: the frames T of every window
    (the frame queue holds T' = T/4 features per key); ``projection``: phi; ``queue_size``: the negatives of each
    queue; ``momentum``: m_base, raised to 1 on a half cosine over the run when ``cosine_momentum``, else constant;
    ``frame_weight``: the weight of the frame term (0: off, Table 4.7's ablation, and no frame queue);
    ``batchnorm_groups``: the groups queries and shuffled keys are normalised in; ``generator_mirror_x``: negate x
    around the generator (both in the module notes)."""

    def __init__(
        self,
        net: dict,
        views: dict,
        window: int,
        projection: dict = dict(type="ProjectionHead", in_channels=256, out_channels=128),
        queue_size: int = 8192,
        momentum: float = 0.994,
        cosine_momentum: bool = True,
        temperature: float = 0.1,
        frame_weight: float = 1.0,
        batchnorm_groups: int = 4,
        generator_mirror_x: bool = False,
        data_preprocessor: dict | None = None,
    ):
        super().__init__(data_preprocessor=data_preprocessor)
        if frame_weight < 0:
            raise ValueError(f"frame_weight must be >= 0, got {frame_weight}")
        self.net = MODELS.build(net)
        self.net.head = nn.Identity()
        self.projection = MODELS.build(projection)
        self.views = MODELS.build(views)
        self.key_encoder = KeyEncoder(self.query_encoder(), momentum=momentum)
        # mmengine's first update only copies: spent here, so that every hook call is a momentum update
        self.key_encoder.update_parameters(self.query_encoder())
        self.cosine_momentum = cosine_momentum
        self.temperature, self.frame_weight, self.batchnorm_groups = temperature, frame_weight, batchnorm_groups
        self.generator_mirror_x = generator_mirror_x
        dims = projection.get("out_channels", 128)
        self.sequence_queue = NegativesQueue(queue_size, (dims,))
        self.frame_queue = NegativesQueue(queue_size, (feature_frames(window), dims)) if frame_weight else None

    def query_encoder(self) -> nn.ModuleDict:
        """UNIK and phi as one module, the shape the key encoder copies (a view: it owns no weights)."""
        return nn.ModuleDict(dict(net=self.net, projection=self.projection))

    @torch.no_grad()
    def update_key_encoder(self) -> None:
        """k <- m k + (1 - m) q, with m of the key encoder's schedule; MomentumEncoderHook calls it."""
        self.key_encoder.update_parameters(self.query_encoder())

    def forward(self, keypoints: torch.Tensor, mode: str = "loss", label=None, index=None, id=None, length=None):
        if mode != "loss":
            raise ValueError(f"ContrastivePretrainer only trains (mode 'loss'), got mode {mode!r}")
        losses, *_ = self.contrastive_losses(keypoints)
        return losses

    def contrastive_losses(self, keypoints: torch.Tensor) -> tuple[dict, torch.Tensor, torch.Tensor]:
        """L_q's terms and ``positive_top1`` of a batch, its keys then enqueued, and the queries' unit-norm
        phi(E_Vs) (N, D) and pooled E_Vs (N, C), on which a model adding terms (T-MOR) computes them."""
        query, positives = self.positive_views(keypoints)
        query_map = self.grouped_feature_map(self.net, query)
        query_sequence, query_frames = embed(query_map, self.projection)
        key_sequence, key_frames = self.embed_keys(positives)
        losses = {
            "loss_sequence": sequence_infonce(query_sequence, key_sequence, self.sequence_queue.keys, self.temperature),
            "positive_top1": self.positive_top1(query_sequence, key_sequence),
        }
        if self.frame_queue is not None:
            losses["loss_frame"] = self.frame_weight * frame_infonce(
                query_frames, key_frames, self.frame_queue.keys, self.temperature
            )
        self.enqueue(key_sequence[:, 0], key_frames[:, 0])
        return losses, query_sequence, global_pool(query_map)

    @torch.no_grad()
    def enqueue(self, sequence_keys: torch.Tensor, frame_keys: torch.Tensor) -> None:
        """The keys of one positive per window into the queues (MoCo's one key per query). Safe before backward:
        the losses saved normalised copies of the queues, not the queues."""
        self.sequence_queue.enqueue(sequence_keys)
        if self.frame_queue is not None:
            self.frame_queue.enqueue(frame_keys)

    @torch.no_grad()
    def positive_views(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The query (N, C, T, V, M) and positives (N, P, C, T, V, M) of a batch."""
        if not self.generator_mirror_x:
            return self.views(x)
        mirror = torch.ones(x.shape[1], 1, 1, 1, dtype=x.dtype, device=x.device)
        mirror[0] = -1
        query, positives = self.views(x * mirror)
        return query * mirror, positives * mirror

    @torch.no_grad()
    def embed_keys(self, positives: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """phi(E_Vs) (N, P, D) and phi(E_Vf) (N, P, T', D) of the positives, by the key encoder."""
        n, p = positives.shape[:2]
        keys = self.key_encoder.module
        shuffle = torch.randperm(n * p, device=positives.device)
        feature_map = self.grouped_feature_map(keys["net"], positives.flatten(0, 1)[shuffle])
        sequence, frames = embed(feature_map[torch.argsort(shuffle)], keys["projection"])
        return sequence.unflatten(0, (n, p)), frames.unflatten(0, (n, p))

    def grouped_feature_map(self, net: nn.Module, x: torch.Tensor) -> torch.Tensor:
        """UNIK's feature map of ``x`` in ``batchnorm_groups`` consecutive groups, each normalised by its own batch
        statistics (MoCo's BatchNorm per GPU, on one device)."""
        return torch.cat([net.feature_map(group) for group in x.chunk(self.batchnorm_groups)])

    @torch.no_grad()
    def positive_top1(self, query: torch.Tensor, positives: torch.Tensor) -> torch.Tensor:
        """Percentage of queries whose most similar key, among their positives and the queue, is a positive."""
        best_positive = torch.einsum("nd,npd->np", query, positives).amax(dim=1)
        best_negative = (query @ self.sequence_queue.keys.T).amax(dim=1)
        return 100 * (best_positive > best_negative).float().mean()


@HOOKS.register_module()
class MomentumEncoderHook(Hook):
    """After each optimiser step, moves the key encoder of a :class:`ContrastivePretrainer` towards its query
    encoder; before training, sets the momentum's cosine ramp to the run's iterations (resumed runs included)."""

    priority = "ABOVE_NORMAL"  # before the checkpoint hook saves the iteration's state

    def before_train(self, runner) -> None:
        model = unwrapped(runner.model)
        model.key_encoder.total_steps = runner.max_iters if model.cosine_momentum else None

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        unwrapped(runner.model).update_key_encoder()


def unwrapped(model: nn.Module) -> nn.Module:
    """The model inside a DDP wrapper, or the model."""
    return model.module if is_model_wrapper(model) else model
