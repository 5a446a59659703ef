"""Query and positive keys of LAC / ViA (thesis sec. 4.3.2, 4.4): shapes, agreement with the motion generator's own
retarget and compose, the frozen generator, randomness, missing joints and the augmentations."""

import pytest
import torch

from posekit.errors import InputError
from posekit.nets import MODELS
from posekit.nets.motion_generator import MotionGenerator
from posekit.nets.positives import PositiveViews, SkeletonAugment, Statics

ROOT = 1


def _generator() -> MotionGenerator:
    torch.manual_seed(0)
    return MotionGenerator(num_joints=5, root=ROOT)  # random weights: enough to check the plumbing


def _joints(n=4, t=16, seed=1) -> torch.Tensor:
    """(N, T, V, 2) windows, no joint at exactly zero (zero means missing)."""
    return torch.rand(n, t, 5, 2, generator=torch.Generator().manual_seed(seed)) + 0.5


def _self_reconstruction(net: MotionGenerator, joints: torch.Tensor) -> torch.Tensor:
    return net.to_joints(net(net.to_features(joints))) + joints[:, :1, ROOT : ROOT + 1]


def _own(n: int) -> torch.Tensor:
    return torch.arange(n)[:, None]


@pytest.mark.parametrize("mode", ["augment", "retarget", "compose"])
def test_shapes_in_both_layouts(mode):
    net = None if mode == "augment" else _generator()
    views = PositiveViews(mode, net, num_positives=2, augment=dict(crop_length=8))
    joints = _joints()
    query, positives = views(joints)
    assert query.shape == (4, 8, 5, 2) and positives.shape == (4, 2, 8, 5, 2)
    network_input = torch.stack([joints, _joints(seed=2)], dim=-1).permute(0, 3, 1, 2, 4)  # (N, C, T, V, M=2)
    query, positives = views(network_input)
    assert query.shape == (4, 2, 8, 5, 2) and positives.shape == (4, 2, 2, 8, 5, 2)


def test_retarget_with_its_own_static_is_the_generators_self_reconstruction():
    net = _generator().eval()
    views = PositiveViews("retarget", net)
    joints = _joints()
    _, own = views.encode(joints)
    query, positives = views.retarget(joints, own.take(_own(4)))
    expected = _self_reconstruction(net, joints)
    torch.testing.assert_close(query, expected)
    torch.testing.assert_close(positives[:, 0], expected)


def test_retarget_with_another_static_is_the_generators_retarget_placed_at_that_windows_start():
    net = _generator().eval()
    views = PositiveViews("retarget", net)
    joints = _joints()
    _, own = views.encode(joints)
    _, positives = views.retarget(joints, own.take(torch.tensor([[2], [0], [0], [1]])))
    features = net.to_features(joints)
    expected = net.to_joints(net.retarget(features[0:1], features[2:3])) + joints[2, 0, ROOT]
    torch.testing.assert_close(positives[0, 0], expected[0])


def test_compose_of_identical_windows_is_retargeting():
    views = PositiveViews("compose", _generator())
    joints = _joints()
    _, own = views.encode(joints)
    statics = own.take(torch.tensor([[0, 2], [1, 3], [2, 0], [3, 1]]))  # its own Static, then another
    for composed, retargeted in zip(views.compose(joints, _own(4), statics), views.retarget(joints, statics)):
        torch.testing.assert_close(composed, retargeted)


def test_compose_query_is_eq_4_5_with_the_generators_compose():
    net = _generator().eval()
    views = PositiveViews("compose", net)
    joints = _joints()
    _, own = views.encode(joints)
    query, _ = views.compose(joints, torch.tensor([[3], [0], [1], [2]]), own.take(_own(4)))
    features = net.to_features(joints)
    expected = net.to_joints(net.compose(features[0:1], features[3:4])) + joints[0, 0, ROOT]
    torch.testing.assert_close(query[0], expected[0])


def test_compose_positives_start_with_the_partners_static_eq_4_5():
    views = PositiveViews("compose", _generator(), num_positives=2, augment=None)
    joints = _joints()
    query, positives = views(joints, torch.Generator().manual_seed(0))
    _, own = views.encode(joints)
    for i in range(4):
        found = []
        for j in set(range(4)) - {i}:
            partners = torch.full((4, 1), j)
            composed_query, composed_positives = views.compose(joints, partners, own.take(partners))
            if torch.allclose(composed_query[i], query[i]):  # j is the partner of window i
                found.append(j)
                torch.testing.assert_close(positives[i, 0], composed_positives[i, 0])  # p_mm',c'
        assert len(found) == 1
        assert not torch.allclose(positives[i, 1], positives[i, 0])  # another window's Static


def test_batch_statics_come_from_p_different_other_windows():
    net = _generator().eval()
    views = PositiveViews("retarget", net, num_positives=3, augment=None)
    joints = _joints()
    _, positives = views(joints, torch.Generator().manual_seed(0))
    _, own = views.encode(joints)
    _, every = views.retarget(joints, own.take(torch.arange(4).expand(4, 4)))  # every window's Static, for each
    for i in range(4):
        donors = {j for p in range(3) for j in range(4) if torch.allclose(positives[i, p], every[i, j])}
        assert donors == set(range(4)) - {i}  # 3 of the 3 others: all different, never its own
    with pytest.raises(InputError, match="larger batch"):
        PositiveViews("retarget", net, num_positives=4)(joints)


def test_gaussian_statics_work_for_a_single_window():
    views = PositiveViews("retarget", _generator(), num_positives=3, static_source="gaussian", augment=None)
    query, positives = views(_joints(n=1), torch.Generator().manual_seed(0))
    assert positives.shape == (1, 3, 16, 5, 2)
    assert torch.isfinite(positives).all()
    torch.testing.assert_close(positives[:, 0], query)  # one window: the law is a point, its own Static


def test_no_gradient_reaches_the_frozen_generator():
    net = _generator()
    views = PositiveViews("compose", net, num_positives=2)
    views.train()  # as the runner does: the generator stays in eval mode (no dropout)
    assert not net.training and not any(p.requires_grad for p in views.parameters())
    joints = _joints().requires_grad_()
    query, positives = views(joints)
    assert not query.requires_grad and not positives.requires_grad
    encoder = torch.nn.Linear(2, 3)  # a stand-in for the visual encoder E_V, which is trained
    (encoder(query).sum() + encoder(positives).sum()).backward()
    assert encoder.weight.grad is not None
    assert all(p.grad is None for p in net.parameters())


@pytest.mark.parametrize("mode", ["augment", "retarget", "compose"])
def test_seeded_generator_makes_the_same_views(mode):
    net = None if mode == "augment" else _generator()
    views = PositiveViews(mode, net, num_positives=2, augment=dict(crop_length=8, mirror=[0, 1, 3, 2, 4]))
    joints = _joints()

    def seeded(seed):
        return views(joints, torch.Generator().manual_seed(seed))

    for first, again in zip(seeded(0), seeded(0)):
        torch.testing.assert_close(first, again)
    assert not torch.allclose(seeded(0)[1], seeded(1)[1])


def test_missing_joints_and_absent_persons_stay_zero():
    net = _generator()
    views = PositiveViews("retarget", net, num_positives=2, augment=dict(rotation=30.0))
    first, second = _joints(n=3), _joints(n=3, seed=2)
    second[1:] = 0  # person 1 is absent in windows 1 and 2: not a Static donor, and no views of it
    first[0, 3, 2] = 0  # a missing joint
    x = torch.stack([first, second], dim=-1).permute(0, 3, 1, 2, 4)  # (N, C, T, V, M)
    query, positives = views(x, torch.Generator().manual_seed(0))
    assert (query[1:, :, :, :, 1] == 0).all() and (positives[1:, :, :, :, :, 1] == 0).all()
    assert (query[0, :, 3, 2, 0] == 0).all() and (positives[0, :, :, 3, 2, 0] == 0).all()
    assert (query[0, :, :, :, 1] != 0).any()


def test_augment_mode_views_are_augmentations_of_the_window():
    joints = _joints()
    query, positives = PositiveViews("augment", num_positives=2, augment=None)(joints)
    torch.testing.assert_close(query, joints)  # unaugmented: the window itself
    torch.testing.assert_close(positives, joints[:, None].expand(-1, 2, -1, -1, -1))
    query, positives = PositiveViews("augment", num_positives=2)(joints)  # rotation and scale by default
    assert not torch.allclose(query, positives[:, 0]) and not torch.allclose(positives[:, 0], positives[:, 1])


def test_modes_check_their_generator():
    with pytest.raises(ValueError, match="needs"):
        PositiveViews("retarget")
    with pytest.raises(ValueError, match="takes no"):
        PositiveViews("augment", _generator())
    with pytest.raises(InputError, match="reads 5 joints"):
        PositiveViews("retarget", _generator())(torch.rand(2, 16, 4, 2))


def _no_geometry(**options) -> SkeletonAugment:
    return SkeletonAugment(rotation=0.0, scale=0.0, **options)


def test_aligned_crops_take_the_same_frames_in_every_view_of_a_window():
    views = torch.arange(16.0)[None, None, None, :, None, None].expand(3, 4, 1, 16, 2, 2)  # (N, W, M, T, V, C)
    cropped = _no_geometry(crop_length=8)(views, torch.Generator().manual_seed(0))
    assert cropped.shape == (3, 4, 1, 8, 2, 2)
    assert (cropped == cropped[:, :1]).all()  # one start per window
    first = cropped[:, :, 0, :, 0, 0]
    torch.testing.assert_close(first - first[..., :1], torch.arange(8.0).expand(3, 4, 8))  # contiguous frames
    independent = _no_geometry(crop_length=8, aligned_crops=False)(views, torch.Generator().manual_seed(0))
    assert not (independent == independent[:, :1]).all()


def test_flip_mirrors_x_and_swaps_twin_joints():
    views = torch.rand(2, 3, 1, 4, 3, 2) + 0.5
    flipped = _no_geometry(mirror=[0, 2, 1], flip=1.0)(views)
    torch.testing.assert_close(flipped[..., 0], -views[..., [0, 2, 1], 0])
    torch.testing.assert_close(flipped[..., 1], views[..., [0, 2, 1], 1])


def test_rotation_keeps_distances_to_the_origin_and_scale_stays_in_range():
    views = torch.rand(2, 3, 1, 4, 3, 2) + 0.5
    rotated = SkeletonAugment(rotation=45.0, scale=0.0)(views, torch.Generator().manual_seed(0))
    torch.testing.assert_close(rotated.norm(dim=-1), views.norm(dim=-1))
    assert not torch.allclose(rotated, views)
    scaled = SkeletonAugment(rotation=0.0, scale=0.1)(views, torch.Generator().manual_seed(0))
    ratio = scaled / views
    assert ((ratio >= 0.9) & (ratio <= 1.1)).all()
    torch.testing.assert_close(ratio, ratio[:, :, :, :1, :1].expand_as(ratio))  # one factor per view and axis


def test_statics_take_indexes_magnitudes_and_origins_together():
    statics = Statics(torch.arange(6.0).view(3, 2), torch.arange(3.0)[:, None])
    taken = statics.take(torch.tensor([[2, 0]]))
    assert taken.magnitudes.tolist() == [[[4.0, 5.0], [0.0, 1.0]]] and taken.origins.tolist() == [[[2.0], [0.0]]]


def test_built_from_a_config_with_a_frozen_generator():
    views = MODELS.build(
        dict(
            type="PositiveViews",
            mode="retarget",
            num_positives=2,
            generator=dict(type="MotionGenerator", num_joints=5, root=ROOT),
        )
    )
    assert isinstance(views.generator, MotionGenerator) and not views.generator.training
    assert not any(p.requires_grad for p in views.parameters())


TORSO = dict(shoulders=[0, 2], hips=[3, 4], torso=0.5)


def _torso_lengths(lengths) -> torch.Tensor:
    """(1, 1, T, 5, 2): shoulders at (+-1, 0), hips at (+-1, L_t) in frame t; joint 1 elsewhere."""
    skeleton = torch.zeros(len(lengths), 5, 2)
    skeleton[:, [0, 3], 0], skeleton[:, [2, 4], 0] = -1.0, 1.0
    skeleton[:, 3:, 1] = torch.tensor(lengths)[:, None]
    skeleton[:, 1] = torch.tensor([5.0, 5.0])
    return skeleton[None, None]


def test_metric_scale_brings_the_median_torso_to_the_given_length():
    views = PositiveViews("retarget", _generator(), to_metres=TORSO)
    # frame lengths 1, 2, 8: median 2 -> 0.5 / 2
    assert views.metric_scale(_torso_lengths([1.0, 2.0, 8.0])).flatten().tolist() == [0.25]
    hidden = _torso_lengths([1.0, 4.0, 4.0])
    hidden[:, :, 0, 0] = 0.0  # a shoulder missing in frame 0: that frame is not measured
    assert views.metric_scale(hidden).flatten().tolist() == [0.125]
    absent = torch.zeros(1, 1, 3, 5, 2)  # no torso ever seen: left as it is
    assert views.metric_scale(absent).flatten().tolist() == [1.0]
    assert PositiveViews("retarget", _generator()).metric_scale(hidden).flatten().tolist() == [1.0]


@pytest.mark.parametrize("mode", ["retarget", "compose"])
def test_views_of_a_scaled_window_are_the_scaled_views(mode):
    """Scaled to metres, a window in pixels and the same window in other units reach the generator alike."""
    joints = _joints(seed=3)
    for to_metres, equivariant in ((TORSO, True), (None, False)):
        views = PositiveViews(mode, _generator(), num_positives=2, augment=None, to_metres=to_metres)
        query, positives = views(joints, torch.Generator().manual_seed(0))
        query_200, positives_200 = views(joints * 200, torch.Generator().manual_seed(0))
        assert torch.allclose(query_200, query * 200, rtol=1e-4, atol=1e-3) == equivariant
        assert torch.allclose(positives_200, positives * 200, rtol=1e-4, atol=1e-3) == equivariant
