"""ST-GCN baseline: spatial-configuration partitions by hand, normalisation, graph convolution, model wiring."""

import numpy as np
import pytest
import torch

from posekit.errors import InputError
from posekit.layouts import Layout, chain_layout, generic_layout, get_layout
from posekit.nets import MODELS, STGCN, spatial_partitions
from posekit.nets.stgcn import GraphConv

N, T = 2, 16
ROOT, CENTRIPETAL, CENTRIFUGAL = range(3)


@pytest.fixture(autouse=True)
def _seed_and_one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny tensors on a shared machine
    torch.manual_seed(0)
    yield
    torch.set_num_threads(threads)


def chain(centre):
    """a - b - c, bones pointing away from ``centre``."""
    parents = {"a": "b", "c": "b"} if centre == "b" else {"b": "a", "c": "b"}
    return Layout(name=f"chain-{centre}", joints=("a", "b", "c"), parents=parents, centre=centre)


# (h) partitions by hand: joint i takes the mean over its neighbourhood {i} + neighbours; degrees (1+1, 1+2, 1+1).


def test_partitions_of_a_chain_centred_in_the_middle():
    a = spatial_partitions(chain("b"))
    np.testing.assert_allclose(a[ROOT], np.diag([1 / 2, 1 / 3, 1 / 2]), rtol=1e-6)
    np.testing.assert_allclose(a[CENTRIPETAL], [[0, 1 / 2, 0], [0, 0, 0], [0, 1 / 2, 0]], rtol=1e-6)
    np.testing.assert_allclose(a[CENTRIFUGAL], [[0, 0, 0], [1 / 3, 0, 1 / 3], [0, 0, 0]], rtol=1e-6)


def test_partitions_of_a_chain_centred_at_an_end():
    a = spatial_partitions(chain("a"))  # hops from a: 0, 1, 2
    np.testing.assert_allclose(a[ROOT], np.diag([1 / 2, 1 / 3, 1 / 2]), rtol=1e-6)
    np.testing.assert_allclose(a[CENTRIPETAL], [[0, 0, 0], [1 / 3, 0, 0], [0, 1 / 2, 0]], rtol=1e-6)
    np.testing.assert_allclose(a[CENTRIFUGAL], [[0, 1 / 2, 0], [0, 0, 1 / 3], [0, 0, 0]], rtol=1e-6)


@pytest.mark.parametrize("name", ["coco-17", "ntu-25", "unik-17", "openpose-18"])
def test_partitions_split_the_mean_over_each_neighbourhood(name):
    layout = get_layout(name)
    a = spatial_partitions(layout)
    v = layout.num_joints
    neighbourhood = np.eye(v, dtype=bool)
    for child, parent in layout.bones:
        neighbourhood[child, parent] = neighbourhood[parent, child] = True
    np.testing.assert_allclose(a.sum(axis=0).sum(axis=1), np.ones(v), rtol=1e-6)  # row-stochastic
    assert np.array_equal(a.sum(axis=0) > 0, neighbourhood)
    assert np.count_nonzero(a, axis=0).max() == 1  # the partitions are disjoint
    assert np.array_equal(a[ROOT] > 0, np.eye(v, dtype=bool))  # a tree: no neighbour is as far as the root
    # Layouts' bones point away from the centre: a joint's centripetal neighbour is its parent.
    assert {tuple(ij) for ij in np.argwhere(a[CENTRIPETAL])} == set(layout.bones)
    assert {tuple(ij[::-1]) for ij in np.argwhere(a[CENTRIFUGAL])} == set(layout.bones)


def test_a_layout_without_centre_is_refused():
    with pytest.raises(InputError, match="generic-5.*centre"):
        spatial_partitions(generic_layout(5))


def test_a_model_whose_layout_disagrees_with_the_data_is_refused():
    with pytest.raises(InputError, match="'coco-17' has 17 joints, the data 25"):
        STGCN("coco-17", num_joints=25)
    with pytest.raises(InputError, match="needs a joint layout"):
        STGCN(None)


# graph convolution --------------------------------------------------------------------------------------------


def test_graph_convolution_on_the_chain_by_hand():
    unit = GraphConv(1, 1, torch.from_numpy(spatial_partitions(chain("b")))).eval()
    with torch.no_grad():
        unit.conv.weight.copy_(torch.tensor([1.0, 10.0, 100.0]).view(3, 1, 1, 1))  # one weight per partition
        unit.conv.bias.zero_()
        out = unit(torch.tensor([1.0, 2.0, 4.0]).view(1, 1, 1, 3)).view(3)
    # a: own/2 + 10 * b/2;  b: own/3 + 100 * (a + c)/3;  c: own/2 + 10 * b/2  (BN at its initial identity)
    expected = torch.tensor([1 / 2 + 10 * 2 / 2, 2 / 3 + 100 * (1 + 4) / 3, 4 / 2 + 10 * 2 / 2])
    torch.testing.assert_close(out, expected / np.sqrt(1 + unit.bn.eps), rtol=1e-5, atol=1e-5)


def test_edge_importance_is_one_learnable_mask_per_block():
    layout = get_layout("coco-17")
    with_masks = STGCN(layout, in_channels=2, num_classes=5)
    without = STGCN(layout, in_channels=2, num_classes=5, edge_importance=False)
    masks = [b.spatial.importance for b in with_masks.blocks]
    assert all(torch.equal(m, torch.ones(3, 17, 17)) for m in masks)
    count = lambda model: sum(p.numel() for p in model.parameters())  # noqa: E731
    assert count(with_masks) - count(without) == 10 * 3 * 17 * 17
    with_masks(torch.randn(N, 2, T, 17, 2)).sum().backward()
    assert masks[0].grad.abs().sum() > 0


# the model ----------------------------------------------------------------------------------------------------


def test_relabelling_the_layout_and_the_input_leaves_logits_unchanged():
    """The graph is built by joint name, so reordering the layout's joints only reorders the computation."""
    layout = chain_layout(
        "toy",
        ["hip", "spine", "head", "l_hand", "r_hand", "l_foot", "r_foot"],
        [
            ("hip", "spine"),
            ("spine", "head"),
            ("spine", "l_hand"),
            ("spine", "r_hand"),
            ("hip", "l_foot"),
            ("hip", "r_foot"),
        ],
    )
    perm = torch.tensor([3, 0, 6, 1, 5, 2, 4])
    relabelled = Layout(
        name="toy-relabelled",
        joints=tuple(layout.joints[i] for i in perm),
        parents=layout.parents,
        centre=layout.centre,
    )
    model = STGCN(layout, in_channels=3, num_persons=1, num_classes=4).eval()
    twin = STGCN(relabelled, in_channels=3, num_persons=1, num_classes=4).eval()
    twin.load_state_dict(model.state_dict())
    channels = torch.arange(7 * 3).view(1, 7, 3)[:, perm, :].reshape(-1)  # data_bn is (M, V, C) ordered
    with torch.no_grad():
        model.data_bn.bn.running_mean.normal_(0, 0.1)
        for name in ("weight", "bias", "running_mean", "running_var"):
            getattr(twin.data_bn.bn, name).copy_(getattr(model.data_bn.bn, name)[channels])
        x = torch.randn(N, 3, T, 7, 1)
        torch.testing.assert_close(twin(x[:, :, :, perm]), model(x), rtol=1e-5, atol=1e-5)


def test_heads_and_registry():
    model = MODELS.build(
        dict(type="STGCN", layout="ntu-25", in_channels=3, num_persons=2, num_classes=60, head="frame")
    )
    x = torch.randn(N, 3, T, 25, 2)
    assert model(x).shape == (N, 60, T // 4)
    assert model.features(x).shape == (N, 256)
    assert [b.temporal.conv.kernel_size for b in model.blocks] == [(9, 1)] * 10
