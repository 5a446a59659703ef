"""CTR-GCN: its graph from a layout by hand, the channel-wise topology refinement by hand, model wiring, training
through the action-model API, and (with the authors' code at hand) logits equal to theirs."""

import os
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.config import Config

from posekit import checkpoints
from posekit.errors import InputError
from posekit.layouts import Layout, get_layout
from posekit.nets import CTRGCN, MODELS
from posekit.nets.ctrgcn import ChannelTopologyGraphConv, MultiScaleTemporalConv, ctrgcn_subsets
from posekit.train.api import prepare_config, train
from posekit.train.overrides import config_path
from tests.conftest import load_tool
from tests.train.conftest import sample_store  # noqa: F401  (the training tests' 24-clip COCO-17 store)
from tests.train.test_train import tiny_config

N, T = 2, 16
IDENTITY, INWARD, OUTWARD = range(3)
# Verified against the authors' released code (tools/compare_ctrgcn.py: both count 1,446,672 for C=3, ntu-25, M=2,
# 60 classes); the paper gives 1.46 M.
NTU_PARAMETERS = 1_446_672


@pytest.fixture(autouse=True)
def _seed_and_one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny tensors on a shared machine
    torch.manual_seed(0)
    yield
    torch.set_num_threads(threads)


def tree():
    """a is the centre with children b and c; d is b's child."""
    return Layout(name="tree", joints=("a", "b", "c", "d"), parents={"b": "a", "c": "a", "d": "b"}, centre="a")


# the graph ------------------------------------------------------------------------------------------------------


def test_subsets_of_a_small_tree_by_hand():
    a = ctrgcn_subsets(tree())
    np.testing.assert_array_equal(a[IDENTITY], np.eye(4))
    # inward: a joint sums its children; outward: a joint takes its parent over the parent's child count
    np.testing.assert_array_equal(a[INWARD], [[0, 1, 1, 0], [0, 0, 0, 1], [0, 0, 0, 0], [0, 0, 0, 0]])
    np.testing.assert_array_equal(a[OUTWARD], [[0, 0, 0, 0], [1 / 2, 0, 0, 0], [1 / 2, 0, 0, 0], [0, 1, 0, 0]])


def test_every_block_starts_from_the_layouts_graph_and_learns_it():
    layout = get_layout("coco-17")
    model = CTRGCN(layout, in_channels=2, num_persons=1, num_classes=5)
    expected = torch.from_numpy(ctrgcn_subsets(layout))
    assert all(torch.equal(block.spatial.topology, expected) for block in model.blocks)
    model(torch.randn(N, 2, T, 17, 1)).sum().backward()
    assert model.blocks[0].spatial.topology.grad.abs().sum() > 0


def test_a_model_without_a_layout_or_with_another_joint_count_is_refused():
    with pytest.raises(InputError, match="CTR-GCN: layout 'coco-17' has 17 joints, the data 25"):
        CTRGCN("coco-17", num_joints=25)
    with pytest.raises(InputError, match="CTR-GCN needs a joint layout"):
        CTRGCN(None)


# the units ------------------------------------------------------------------------------------------------------


def test_channel_wise_topology_refinement_by_hand():
    """Q_k[c, i, j] = A_k[i, j] + alpha * xi_k(tanh(phi_k(x'_i) - psi_k(x'_j)))[c], x' the frame mean; the output of
    joint i in channel c is relu(BN(sum_k sum_j Q_k[c, i, j] T_k(x)[c, j]) + down(x)), computed here one subset at a
    time from the unit's batched weights."""
    c_in, c_out, v, k = 2, 4, 4, 3
    unit = ChannelTopologyGraphConv(c_in, c_out, torch.from_numpy(ctrgcn_subsets(tree()))).eval()
    r = unit.relation_channels
    with torch.no_grad():
        unit.alpha.fill_(0.7)
        unit.bn.weight.fill_(1.0)
    x = torch.randn(N, c_in, T, v)
    mean = x.mean(2)  # (N, C_in, V)
    phi_w, psi_w = unit.correlate.weight.view(2, k, r, c_in).unbind(0)
    phi_b, psi_b = unit.correlate.bias.view(2, k, r).unbind(0)
    xi_w, xi_b = unit.refine.weight.view(k, c_out, r), unit.refine.bias.view(k, c_out)
    t_w, t_b = unit.transform.weight.view(k, c_out, c_in), unit.transform.bias.view(k, c_out)
    total = 0
    for s in range(k):
        phi = torch.einsum("rc,ncv->nrv", phi_w[s], mean) + phi_b[s, :, None]
        psi = torch.einsum("rc,ncv->nrv", psi_w[s], mean) + psi_b[s, :, None]
        relation = torch.tanh(phi[:, :, :, None] - psi[:, :, None, :])  # (N, R, i, j)
        q = unit.topology[s] + 0.7 * (torch.einsum("or,nrij->noij", xi_w[s], relation) + xi_b[s, :, None, None])
        features = torch.einsum("oc,nctv->notv", t_w[s], x) + t_b[s, :, None, None]
        total = total + torch.einsum("noij,notj->noti", q, features)
        torch.testing.assert_close(unit.topologies(x)[:, s], q, rtol=1e-5, atol=1e-5)
    expected = torch.relu(total / np.sqrt(1 + unit.bn.eps) + unit.down(x))  # BN at its initial statistics
    torch.testing.assert_close(unit(x), expected, rtol=1e-5, atol=1e-5)


def test_the_refined_topology_differs_per_channel_and_per_sample_and_starts_as_the_shared_one():
    unit = ChannelTopologyGraphConv(3, 8, torch.from_numpy(ctrgcn_subsets(tree())))
    x = torch.randn(N, 3, T, 4)
    start = unit.topologies(x)
    assert torch.equal(start, unit.topology[None, :, None].expand_as(start))  # alpha = 0: A_k for every channel
    with torch.no_grad():
        unit.alpha.fill_(1.0)
    q = unit.topologies(x)
    assert not torch.allclose(q[:, :, 0], q[:, :, 1])  # channels
    assert not torch.allclose(q[0], q[1])  # samples


def test_multi_scale_temporal_unit_keeps_channels_and_strides_every_branch():
    unit = MultiScaleTemporalConv(64, stride=2)
    assert [len(b) for b in unit.branches] == [4, 4, 5, 2]
    assert [b[3].conv.dilation for b in unit.branches[:2]] == [(1, 1), (2, 1)]
    assert unit(torch.randn(N, 64, 15, 5)).shape == (N, 64, 8, 5)  # ceil(15 / 2)
    assert MultiScaleTemporalConv(64)(torch.randn(N, 64, 15, 5)).shape == (N, 64, 15, 5)


# the model ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "layout, channels, persons", [("coco-17", 2, 1), ("coco-17", 3, 2), ("ntu-25", 3, 2), ("ntu-25", 2, 1)]
)
def test_output_shapes_for_2d_and_3d_joints_one_or_two_persons_and_each_layout(layout, channels, persons):
    v = get_layout(layout).num_joints
    model = CTRGCN(layout, in_channels=channels, num_persons=persons, num_classes=7)
    x = torch.randn(N, channels, T, v, persons)
    assert model(x).shape == (N, 7)
    assert model.features(x).shape == (N, 256)
    assert model.feature_map(x).shape == (N, persons, 256, T // 4, v)


def test_parameter_count_on_ntu_is_the_reference_count_and_the_frame_head_is_available():
    model = MODELS.build(
        dict(type="CTRGCN", layout="ntu-25", in_channels=3, num_persons=2, num_classes=60, head="frame")
    )
    assert model(torch.randn(N, 3, T, 25, 2)).shape == (N, 60, T // 4)
    assert sum(p.numel() for p in CTRGCN("ntu-25", 3, 2, 60).parameters()) == NTU_PARAMETERS


def test_the_store_config_gives_the_network_the_stores_layout(sample_store, tmp_path):  # noqa: F811
    cfg = prepare_config(Config.fromfile(config_path("ctrgcn")), sample_store, tmp_path, workers=0)
    net = cfg.model.net
    assert net.type == "CTRGCN" and net.layout["name"] == "coco-17" and net.num_joints == 17
    assert net.in_channels == 2 and net.num_classes == 4


def test_one_epoch_of_training_then_linear_evaluation_from_its_checkpoint(sample_store, tmp_path):  # noqa: F811
    config = tiny_config(tmp_path, config_path("ctrgcn"), epochs=1)  # CTR-GCN's store config
    trained = train(sample_store, tmp_path / "pre", model="ctrgcn", config=config, stream="bone", holdout=0.2)
    assert trained["model"] == "CTRGCN" and trained["epochs"] == 1 and trained["stream"] == "bone"
    assert trained["test_split_clips"] == 4 and 0 <= trained["top1"] <= 100
    linear = train(
        sample_store,
        tmp_path / "lin",
        model="ctrgcn",
        config=config,
        init=tmp_path / "pre/best.pth",
        linear=True,
        holdout=0,
    )
    assert linear["init_tensors"]["loaded"] == linear["init_tensors"]["expected"]  # the whole backbone
    before = checkpoints.load(tmp_path / "pre/best.pth")["state_dict"]
    after = checkpoints.load(tmp_path / "lin/best.pth")["state_dict"]
    backbone = [k for k in before if not k.startswith("net.head.")]
    assert any(k.endswith("spatial.topology") for k in backbone)
    assert all(torch.equal(before[k], after[k]) for k in backbone)  # frozen, BN statistics included
    assert not torch.equal(before["net.head.fc.weight"], after["net.head.fc.weight"])


# against the authors' code --------------------------------------------------------------------------------------


def test_logits_and_parameter_count_equal_the_authors_code():
    """Runs where CTRGCN_REFERENCE names a checkout of the authors' code (no package ships it)."""
    root = os.environ.get("CTRGCN_REFERENCE")
    if not root:
        pytest.skip("CTRGCN_REFERENCE (a checkout of the authors' CTR-GCN code) is not set")
    tool = load_tool("compare_ctrgcn")
    result = tool.compare(Path(root))
    assert result["params_posekit"] == result["params_reference"] == NTU_PARAMETERS
    assert result["graph_vs_reference_bones"] == []
    for key in ("eval_float32", "train_float32"):
        assert result[f"max_abs_diff_{key}"] < 1e-4 * max(1.0, result[f"max_abs_logit_{key}"])
    for key in ("eval_float64", "train_float64"):
        assert result[f"max_abs_diff_{key}"] < 1e-10 * max(1.0, result[f"max_abs_logit_{key}"])
