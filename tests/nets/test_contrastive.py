"""The contrastive module of LAC / ViA (thesis eq. 4.6-4.8): projection head, queues, momentum encoder, losses."""

import math

import pytest
import torch
from torch import nn

from posekit.nets import MODELS, UNIK
from posekit.nets.contrastive import KeyEncoder, NegativesQueue, ProjectionHead, embed, frame_infonce, sequence_infonce
from posekit.nets.heads import global_pool

E1, E2, E3 = torch.eye(3)


def test_projection_head_maps_the_last_axis_of_sequences_and_frames_alike():
    torch.manual_seed(0)
    head = ProjectionHead(in_channels=6, out_channels=4)
    frames = torch.randn(2, 5, 6)
    assert head(frames[:, 0]).shape == (2, 4) and head(frames).shape == (2, 5, 4)
    torch.testing.assert_close(head(frames)[:, 3], head(frames[:, 3]))
    assert [type(layer) for layer in head.mlp] == [nn.Linear, nn.ReLU, nn.Linear]  # 2 layers (sec. 4.5.1)
    assert head.mlp[0].out_features == 6  # hidden width = input width


def test_embed_pools_the_feature_map_and_normalises():
    feature_map = torch.randn(2, 1, 6, 4, 5)  # (N, M, C, T', V)
    sequence, frames = embed(feature_map, nn.Identity())
    assert sequence.shape == (2, 6) and frames.shape == (2, 4, 6)
    torch.testing.assert_close(sequence * global_pool(feature_map).norm(dim=-1, keepdim=True), global_pool(feature_map))
    torch.testing.assert_close(frames.norm(dim=-1), torch.ones(2, 4))


def test_sequence_infonce_by_hand_one_query_two_positives_three_negatives():
    query = E1[None]
    positives = torch.stack([E1, E2])[None]  # cosines 1 and 0
    negatives = torch.stack([E2, -E1, 2 * E3])  # cosines 0, -1 and 0 (the length does not count: eq. 4.8)
    # temperature 0.5: positive logits 2, 0; negative logits 0, -2, 0; positives in the denominator too
    expected = -math.log((math.exp(2) + 1) / (math.exp(2) + 1 + 1 + math.exp(-2) + 1))
    loss = sequence_infonce(query, positives, negatives, temperature=0.5)
    assert loss.item() == pytest.approx(expected, rel=1e-6)


def test_the_loss_is_a_negative_log_probability_where_the_printed_ratio_goes_negative():
    query, positives, negatives = E1[None], E1[None, None], -E1[None]
    loss = sequence_infonce(query, positives, negatives, temperature=0.1)
    assert loss.item() == pytest.approx(math.log(1 + math.exp(-20)), abs=1e-7)  # >= 0, 0 when positives win
    printed = -math.log(math.exp(10) / math.exp(-10))  # eq. 4.6 as printed: negatives only below
    assert printed == pytest.approx(-20) and loss.item() >= 0


def test_frame_infonce_by_hand_sums_similarities_over_aligned_frames():
    query = torch.stack([E1, E2])[None]  # (1, T'=2, D=3)
    positives = torch.stack([torch.stack([E1, E2]), torch.stack([E2, E1])])[None]  # sums of cosines 2 and 0
    negatives = torch.stack([torch.stack([-E1, E2]), torch.stack([-E1, -E2])])  # sums 0 and -2
    expected = -math.log((math.exp(2) + 1) / (math.exp(2) + 1 + 1 + math.exp(-2)))  # temperature 1
    assert frame_infonce(query, positives, negatives, temperature=1.0).item() == pytest.approx(expected, rel=1e-6)


def test_frame_infonce_of_one_frame_is_the_sequence_loss():
    torch.manual_seed(0)
    query, positives, negatives = torch.randn(3, 8), torch.randn(3, 4, 8), torch.randn(10, 8)
    torch.testing.assert_close(
        frame_infonce(query[:, None], positives[:, :, None], negatives[:, None]),
        sequence_infonce(query, positives, negatives),
    )


def test_queue_is_fifo_and_wraps_around():
    def keys(*indices):  # distinct directions, scaled by 3: the queue stores them normalised
        angles = torch.tensor(indices, dtype=torch.float32)
        return 3 * torch.stack([torch.cos(angles), torch.sin(angles)], dim=1)

    queue = NegativesQueue(5, (2,))
    queue.enqueue(keys(0, 1))
    queue.enqueue(keys(2, 3))
    assert int(queue.pointer) == 4
    queue.enqueue(keys(4, 5))  # key 5 overwrites the oldest, key 0
    assert int(queue.pointer) == 1
    torch.testing.assert_close(queue.keys, keys(5, 1, 2, 3, 4) / 3)
    with pytest.raises(ValueError, match="entries are"):
        queue.enqueue(torch.randn(2, 3))
    with pytest.raises(ValueError, match="does not fit"):
        queue.enqueue(keys(*range(6)))


def test_frame_queue_holds_one_unit_vector_per_frame():
    queue = NegativesQueue(4, (3, 2))
    assert queue.keys.shape == (4, 3, 2)
    torch.testing.assert_close(queue.keys.norm(dim=-1), torch.ones(4, 3))  # random unit vectors to start with
    queue.enqueue(torch.full((2, 3, 2), 5.0))
    torch.testing.assert_close(queue.keys[:2], torch.full((2, 3, 2), 0.5**0.5))
    assert {"keys", "pointer"} <= set(queue.state_dict())  # saved with the model, resumed with it


def test_key_encoder_update_is_m_k_plus_one_minus_m_q():
    torch.manual_seed(0)
    query = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2))
    key = KeyEncoder(query, momentum=0.9)
    assert not any(p.requires_grad for p in key.parameters())
    key.update_parameters(query)  # mmengine's first update copies: the key encoder starts as the query encoder
    before = key.module[0].weight.clone()
    with torch.no_grad():
        query[0].weight.add_(1.0)
    query(torch.randn(4, 3))  # train mode: moves the BatchNorm statistics
    key.update_parameters(query)
    torch.testing.assert_close(key.module[0].weight, 0.9 * before + 0.1 * query[0].weight)
    torch.testing.assert_close(key.module[1].running_mean, query[1].running_mean)  # buffers follow the query


def test_key_momentum_rises_from_m_base_to_one_on_a_half_cosine():
    query = nn.Linear(2, 2)
    key = KeyEncoder(query, momentum=0.994, total_steps=100)
    assert key.key_momentum(0) == pytest.approx(0.994)
    assert key.key_momentum(50) == pytest.approx(0.997)
    assert key.key_momentum(100) == key.key_momentum(150) == pytest.approx(1.0)
    assert KeyEncoder(query, momentum=0.999).key_momentum(10**6) == 0.999  # the authors' constant momentum
    key = KeyEncoder(query, momentum=0.9, total_steps=2)
    key.update_parameters(query)  # step 0: copy
    before = key.module.weight.clone()
    with torch.no_grad():
        query.weight.add_(1.0)
    key.update_parameters(query)  # step 1 of 2: m = 1 - 0.1 * (cos(pi / 2) + 1) / 2 = 0.95
    torch.testing.assert_close(key.module.weight, 0.95 * before + 0.05 * query.weight)
    with pytest.raises(ValueError, match="momentum"):
        KeyEncoder(query, momentum=1.0)


def test_one_moco_step_with_unik_trains_the_query_encoder_only():
    torch.manual_seed(0)
    backbone = UNIK(in_channels=2, num_joints=5, num_persons=1, num_classes=2, num_heads=1)
    head = ProjectionHead(256, 16)
    query_encoder = nn.ModuleDict(dict(backbone=backbone, head=head))
    key_encoder = KeyEncoder(query_encoder, momentum=0.994, total_steps=10)
    frames_out = 4  # UNIK halves time twice: 16 frames -> 4
    sequence_queue, frame_queue = NegativesQueue(8, (16,)), NegativesQueue(8, (frames_out, 16))
    x_query, x_keys = torch.randn(2, 2, 16, 5, 1), torch.randn(2, 3, 2, 16, 5, 1)  # P = 3 positives

    query_sequence, query_frames = embed(backbone.feature_map(x_query), head)
    with torch.no_grad():
        key_encoder.update_parameters(query_encoder)
        keys = key_encoder.module
        key_sequence, key_frames = embed(keys["backbone"].feature_map(x_keys.flatten(0, 1)), keys["head"])
    key_sequence, key_frames = key_sequence.unflatten(0, (2, 3)), key_frames.unflatten(0, (2, 3))
    assert key_frames.shape == (2, 3, frames_out, 16)
    loss = sequence_infonce(query_sequence, key_sequence, sequence_queue.keys) + frame_infonce(
        query_frames, key_frames, frame_queue.keys
    )
    loss.backward()
    assert head.mlp[0].weight.grad is not None and backbone.blocks[0].temporal.conv.weight.grad is not None
    assert all(p.grad is None for p in key_encoder.parameters())
    sequence_queue.enqueue(key_sequence[:, 0])
    frame_queue.enqueue(key_frames[:, 0])
    assert int(sequence_queue.pointer) == int(frame_queue.pointer) == 2


def test_registered_for_configs():
    assert isinstance(MODELS.build(dict(type="ProjectionHead", in_channels=8, out_channels=4)), ProjectionHead)
    assert MODELS.build(dict(type="NegativesQueue", size=6, entry_shape=(4, 8))).keys.shape == (6, 4, 8)
