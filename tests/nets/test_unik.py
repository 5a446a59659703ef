"""UNIK against its equations (thesis eqs. 3.9-3.12): init, attention, batched heads, topology freedom, heads."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy import stats

from posekit.errors import InputError
from posekit.nets import MODELS, UNIK
from posekit.nets.heads import ClassifierHead
from posekit.nets.unik import SpatialDependencyUnit, unfold_window
from posekit.nets.units import STACK_CHANNELS, STACK_STRIDES

N, T = 2, 16


@pytest.fixture(autouse=True)
def _seed_and_one_thread():
    # Tiny tensors on a shared 2-core machine: one thread is ~3x faster than two fighting other jobs.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    yield
    torch.set_num_threads(threads)


def skeletons(c=2, v=17, m=2, t=T, dtype=torch.float32):
    return torch.randn(N, c, t, v, m, dtype=dtype)


def randomise_batchnorms(model):
    """Eval-mode BNs with non-trivial statistics and scales, so no unit is a near no-op (S-LSU starts at 1e-6)."""
    for bn in model.modules():
        if isinstance(bn, torch.nn.modules.batchnorm._BatchNorm):
            with torch.no_grad():
                bn.running_mean.normal_(0, 0.1)
                bn.running_var.uniform_(0.5, 1.5)
                bn.weight.uniform_(0.5, 1.5)
                bn.bias.normal_(0, 0.1)
    return model.eval()


# (a) eq. 3.10 -------------------------------------------------------------------------------------------------


def test_kaiming_bound_with_a_sqrt5_is_one_over_sqrt_fan_in():
    for fan_in in (17, 25, 51):
        assert math.sqrt(6 / ((1 + 5) * fan_in)) == pytest.approx(1 / math.sqrt(fan_in))


@pytest.mark.parametrize("joints, window", [(25, 1), (25, 3)])
def test_dependency_matrices_are_uniform_within_one_over_sqrt_nodes(joints, window):
    unit = SpatialDependencyUnit(8, 8, joints, num_heads=3, window=window)
    nodes = joints * window
    w = unit.dependency.detach().numpy()
    assert w.shape == (3, nodes, nodes)
    bound = 1 / math.sqrt(nodes)  # fan_in of one (tau*V, tau*V) matrix, not of the stacked tensor
    assert np.abs(w).max() <= bound
    assert np.abs(w).max() > 0.95 * bound  # fills the range, i.e. not a narrower init
    # Uniform(-b, b) has variance b^2/3; with >= 1875 samples the sample variance is within ~2% (1 sigma).
    assert w.var() == pytest.approx(bound**2 / 3, rel=0.1)
    assert stats.kstest(w.ravel(), stats.uniform(-bound, 2 * bound).cdf).pvalue > 1e-3
    # Each head draws its own matrix.
    assert not np.allclose(w[0], w[1])


# (b) eq. 3.11 -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("window", [1, 3])
def test_attention_is_column_stochastic(window):
    unit = SpatialDependencyUnit(6, 16, 17, num_heads=4, window=window)
    x = unfold_window(torch.randn(N, 6, T, 17), window)
    a = unit.attention(x)
    assert a.shape == (N, 4, 17 * window, 17 * window)
    assert torch.all(a > 0) and torch.all(a < 1)
    torch.testing.assert_close(a.sum(dim=-2), torch.ones(N, 4, 17 * window))
    assert not torch.allclose(a.sum(dim=-1), torch.ones(N, 4, 17 * window))  # rows are not normalised


# (e) batched heads == the per-head loop of eq. 3.9 ------------------------------------------------------------


def reference_loop(unit, x):
    """sum_i E_i (x (W_i + A_i)) head by head, written as in the authors' code (tau = 1)."""
    n, c, t, v = x.shape
    ce, heads = unit.embed_channels, unit.num_heads
    w_embed, b_embed = unit.embed.weight, unit.embed.bias
    out = unit.mix.bias.view(1, -1, 1, 1)  # one bias for the summed heads
    for i in range(heads):
        theta_rows = slice(i * ce, (i + 1) * ce)
        phi_rows = slice((heads + i) * ce, (heads + i + 1) * ce)
        a1 = F.conv2d(x, w_embed[theta_rows], b_embed[theta_rows]).permute(0, 3, 1, 2).reshape(n, v, ce * t)
        a2 = F.conv2d(x, w_embed[phi_rows], b_embed[phi_rows]).reshape(n, ce * t, v)
        attention = torch.softmax(a1 @ a2 / (ce * t), dim=-2)
        y = (x.reshape(n, c * t, v) @ (unit.dependency[i] + attention)).view(n, c, t, v)
        out = out + F.conv2d(y, unit.mix.weight[:, i * c : (i + 1) * c])
    return out


@pytest.mark.parametrize("heads, c_in, c_out", [(1, 3, 8), (3, 8, 8), (5, 8, 16)])
def test_heads_computed_together_equal_the_loop_over_heads(heads, c_in, c_out):
    unit = SpatialDependencyUnit(c_in, c_out, 11, num_heads=heads)
    x = torch.randn(N, c_in, T, 11)
    with torch.no_grad():
        torch.testing.assert_close(unit.aggregate(x), reference_loop(unit, x), rtol=1e-5, atol=1e-5)


# (f) sliding window tau ---------------------------------------------------------------------------------------


def test_unfold_window_gathers_neighbouring_frames_with_zero_padding():
    x = torch.arange(1.0, 1 + 5 * 2).view(1, 1, 5, 2)  # T=5, V=2; value = 1 + 2t + v
    u = unfold_window(x, 3)
    assert u.shape == (1, 1, 5, 6)
    for t in range(5):
        for k in range(3):  # window position k covers frame t - 1 + k
            for v in range(2):
                s = t - 1 + k
                expected = 1 + 2 * s + v if 0 <= s < 5 else 0
                assert u[0, 0, t, k * 2 + v] == expected
    assert torch.equal(unfold_window(x, 1), x)


@pytest.mark.parametrize("window", [2, 3, 4])
def test_window_keeps_the_number_of_frames(window):
    unit = SpatialDependencyUnit(3, 8, 17, window=window)
    assert unit(torch.randn(N, 3, 13, 17)).shape == (N, 8, 13, 17)


def test_windowed_model_keeps_the_frame_count_of_the_plain_model():
    model = UNIK(in_channels=2, num_joints=17, num_classes=4, window=3, head="frame").eval()
    assert model(skeletons()).shape == (N, 4, T // 4)


# (c) no built-in topology -------------------------------------------------------------------------------------


def permute_joints(model, perm, window):
    """Relabel joints: W_i rows/cols (inside every window frame) and the data_bn (M, V, C) channels."""
    v = len(perm)
    nodes = torch.cat([k * v + perm for k in range(window)])
    c, _, m = model.data_bn.expected
    channels = torch.arange(m * v * c).view(m, v, c)[:, perm, :].reshape(-1)
    with torch.no_grad():
        for unit in model.modules():
            if isinstance(unit, SpatialDependencyUnit):
                unit.dependency.copy_(unit.dependency[:, nodes][:, :, nodes])
        bn = model.data_bn.bn
        for tensor in (bn.weight, bn.bias, bn.running_mean, bn.running_var):
            tensor.copy_(tensor[channels])


@pytest.mark.parametrize("window", [1, 3])
def test_permuting_joints_with_the_dependency_matrices_leaves_logits_unchanged(window):
    model = randomise_batchnorms(UNIK(in_channels=2, num_joints=17, num_classes=7, window=window)).double()
    x = skeletons(dtype=torch.float64)
    perm = torch.randperm(17)
    with torch.no_grad():
        logits = model(x)
        moved_input_only = model(x[:, :, :, perm])
        permute_joints(model, perm, window)
        relabelled = model(x[:, :, :, perm])
    torch.testing.assert_close(relabelled, logits, rtol=1e-5, atol=1e-5)
    assert (moved_input_only - logits).abs().max() > 1e-3  # the check can fail: W does carry joint identity


# (d) heads and features ---------------------------------------------------------------------------------------


def test_frame_head_mean_over_time_is_the_clip_classifier_with_shared_weights():
    model = randomise_batchnorms(UNIK(num_classes=6, head="frame"))
    x = skeletons()
    with torch.no_grad():
        feature_map = model.feature_map(x)  # (N, M, 256, T/4, V)
        frames = model(x)
        clip_head = ClassifierHead(256, 6)
        clip_head.load_state_dict(model.head.state_dict())
        clip = clip_head(feature_map)
    assert feature_map.shape == (N, 2, 256, T // 4, 17)
    assert frames.shape == (N, 6, T // 4)
    torch.testing.assert_close(frames.mean(dim=-1), clip, rtol=1e-5, atol=1e-5)
    # Frame 1 by hand: fc of the mean over persons and joints of that frame's features.
    by_hand = feature_map[:, :, :, 1, :].mean(dim=(1, 3)) @ model.head.fc.weight.T + model.head.fc.bias
    torch.testing.assert_close(frames[:, :, 1], by_hand, rtol=1e-5, atol=1e-5)


def test_features_are_the_pooled_embedding_the_classifier_reads():
    model = randomise_batchnorms(UNIK(num_classes=6))
    x = skeletons()
    with torch.no_grad():
        embedding = model.features(x)
        by_hand = model.feature_map(x).mean(dim=(1, 3, 4))
        logits = model(x)
    assert embedding.shape == (N, 256)
    torch.testing.assert_close(embedding, by_hand)
    torch.testing.assert_close(model.head.fc(embedding), logits)


@pytest.mark.parametrize("c, v, m", [(3, 25, 1), (5, 13, 3)])
def test_any_channels_joints_and_persons(c, v, m):
    model = UNIK(in_channels=c, num_joints=v, num_persons=m, num_classes=3)
    logits = model(skeletons(c, v, m))
    assert logits.shape == (N, 3)
    logits.sum().backward()
    assert model.blocks[0].spatial.dependency.grad.abs().sum() > 0


def test_wrong_input_shape_is_a_one_line_input_error():
    with pytest.raises(InputError, match=r"V=17.*got \(2, 2, 16, 25, 2\)"):
        UNIK(num_joints=17)(skeletons(v=25))


# (g) parameter count ------------------------------------------------------------------------------------------


def expected_parameters(c, v, m, heads, classes, window=1):
    """Parameters from the equations, block by block."""
    total = 2 * m * v * c  # data_bn
    c_in = c
    for i, (c_out, stride) in enumerate(zip(STACK_CHANNELS, STACK_STRIDES)):
        ce, nodes = c_out // 4, v * window
        total += heads * nodes**2  # W_i
        total += 2 * heads * (c_in * ce + ce)  # E_theta, E_phi (with bias)
        total += heads * c_in * c_out + c_out  # E_i, one shared bias
        total += (window * c_out * c_out + c_out) if window > 1 else 0  # window collapse
        total += 2 * c_out  # S-LSU BN
        total += (c_in * c_out + c_out + 2 * c_out) if c_in != c_out else 0  # S-LSU residual
        total += 9 * c_out * c_out + c_out + 2 * c_out  # T-LSU conv (9, 1) + BN
        if i and (c_in != c_out or stride != 1):
            total += c_in * c_out + c_out + 2 * c_out  # block residual
        c_in = c_out
    return total + c_in * classes + classes  # fc


@pytest.mark.parametrize("window", [1, 3])
def test_parameter_count_matches_the_equations(window):
    model = UNIK(in_channels=2, num_joints=17, num_persons=2, num_classes=320, num_heads=3, window=window)
    count = sum(p.numel() for p in model.parameters())
    assert count == expected_parameters(2, 17, 2, 3, 320, window)


def test_parameter_count_is_the_published_3_5_million():
    # "About 3.5 M" (C=2, V=17, 3 heads, 320 classes): a figure rounded to 0.1 M, so within [3.45 M, 3.55 M).
    count = sum(p.numel() for p in UNIK(in_channels=2, num_joints=17, num_persons=2, num_classes=320).parameters())
    assert 3.45e6 <= count < 3.55e6


# build from a config ------------------------------------------------------------------------------------------


def test_registry_builds_unik_from_a_config_dict():
    model = MODELS.build(dict(type="UNIK", in_channels=3, num_joints=25, num_classes=60, dilations=(1,) * 10))
    assert isinstance(model, UNIK)
    assert [b.temporal.conv.dilation[0] for b in model.blocks] == [1] * 10
    thesis = UNIK()
    assert [b.temporal.conv.dilation[0] for b in thesis.blocks] == [1, 3, 3, 3, 3, 1, 1, 1, 1, 1]
