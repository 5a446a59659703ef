"""DMSD: shapes, the temporal shift, and its two feature losses against hand-computed values."""

import math

import torch

from posekit.nets.dmsd import DMSD, TSMClassifier, temporal_shift
from posekit.nets.dmsd_losses import MotionClusteringLoss, scenario_contrast_loss


def test_forward_shapes():
    x = torch.rand(2, 4, 1, 32, 32)
    out = DMSD(num_classes=5, segments=4, widths=(4, 8, 8), removal_hidden=4)(x)
    assert out["logits"].shape == (2, 5) and out["scenario"].shape == (2, 8) and out["motion"].shape == (2, 8)
    assert TSMClassifier(num_classes=5, segments=4, widths=(4, 8, 8))(x)["logits"].shape == (2, 5)


def test_temporal_shift_moves_one_eighth_each_way_by_one_frame():
    n, t, c = 2, 3, 16
    values = (torch.arange(t)[:, None] * 100 + torch.arange(c)[None]).float()  # value = 100 * frame + channel
    x = values[None].expand(n, t, c).reshape(n * t, c, 1, 1)
    out = temporal_shift(x, t).view(n, t, c)
    for frame in range(t):
        row = out[0, frame]
        # channels 0-1 (1/8) come from the next frame, zero after the last
        expected_next = values[frame + 1, :2] if frame + 1 < t else torch.zeros(2)
        expected_prev = values[frame - 1, 2:4] if frame > 0 else torch.zeros(2)
        assert torch.equal(row[:2], expected_next)
        assert torch.equal(row[2:4], expected_prev)
        assert torch.equal(row[4:], values[frame, 4:])
    assert torch.equal(out[0], out[1])  # clips in a batch do not mix


def test_scenario_contrast_loss_by_hand():
    # 0 and 1 share scenario and session (group 0), 2 is another; cosines: s(0,1) = 0, s(0,2) = -1, s(1,2) = 0
    features = torch.tensor([[2.0, 0.0], [0.0, 3.0], [-1.0, 0.0]])
    groups = torch.tensor([0, 0, 1])
    # anchor 0: log exp(-1/t) - 0/t; anchor 1: log exp(0) - 0; anchor 2 has no positive
    for temperature in (1.0, 0.5):
        expected = (-1 / temperature + 0.0) / 2
        assert math.isclose(scenario_contrast_loss(features, groups, temperature).item(), expected, abs_tol=1e-6)
    assert scenario_contrast_loss(features, torch.tensor([0, 1, 2])).item() == 0.0  # no positive pair


def test_motion_clustering_loss_uses_the_nearest_centre_of_each_class():
    loss = MotionClusteringLoss(num_classes=2, dim=2, per_class=2)
    with torch.no_grad():
        loss.centres.copy_(torch.tensor([[[0.0, 0.0], [10.0, 0.0]], [[0.0, 3.0], [5.0, 5.0]]]))
    m = torch.tensor([[9.0, 0.0]])
    d0, d1 = 1.0, math.sqrt(16 + 25)  # nearest of class 0: (10, 0); of class 1: (5, 5)
    assert torch.allclose(loss.distances(m), torch.tensor([[d0, d1]]))
    assert math.isclose(loss(m, torch.tensor([0])).item(), math.log(1 + math.exp(d0 - d1)), rel_tol=1e-5)
    assert math.isclose(loss(m, torch.tensor([1])).item(), math.log(1 + math.exp(d1 - d0)), rel_tol=1e-5)
