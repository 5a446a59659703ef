"""The motion generator (thesis Table 4.1, eq. 4.1-4.5): features, shapes, the dictionary, retarget and compose."""

import pytest
import torch

from posekit.nets import MODELS
from posekit.nets.motion_generator import MotionGenerator


def _net(**kwargs) -> MotionGenerator:
    torch.manual_seed(0)
    return MotionGenerator(num_joints=5, root=1, **kwargs).eval()  # eval: no dropout, outputs are deterministic


def _clips(n=3, t=32, seed=1) -> torch.Tensor:
    return torch.randn(n, 10, t, generator=torch.Generator().manual_seed(seed))


def test_features_are_root_relative_joints_and_root_velocity_z_scored():
    net = MotionGenerator(num_joints=3, root=1, mean=[0.0] * 6, std=[1.0, 1.0, 1.0, 1.0, 2.0, 2.0])
    joints = torch.tensor([[[0.0, 0], [1, 1], [2, 3]], [[1, 0], [2, 1], [3, 3]], [[3, 0], [4, 1], [5, 3]]])[None]
    features = net.to_features(joints)  # (1, 6, 3): joints 0 and 2 relative to joint 1, then velocity / 2
    expected = torch.tensor([[-1.0, -1, 1, 2, 0, 0], [-1, -1, 1, 2, 0.5, 0], [-1, -1, 1, 2, 1, 0]]).T
    torch.testing.assert_close(features[0], expected)
    # back to joints: the root path integrated from its velocity, starting at 0
    torch.testing.assert_close(net.to_joints(features), joints - joints[:, :1, 1:2])


def test_motion_and_static_sizes_and_shapes():
    net = _net()
    assert net.channels == 10  # 4 root-relative joints + the root velocity, 2D
    motion, static = net.encode(_clips(t=64))
    assert motion.shape == (3, 128, 8) and static.shape == (3, 32)
    assert net.decode(motion, static).shape == (3, 10, 64)
    with pytest.raises(ValueError, match="multiple of 8"):
        net.encode(_clips(t=36))


def test_magnitudes_are_projections_on_the_orthonormal_dictionary():
    net = _net()
    x = _clips()
    code = net.encoder(x)
    basis = net.basis()
    torch.testing.assert_close(basis.T @ basis, torch.eye(160), atol=1e-5, rtol=0)
    motion, static = net.encode(x)
    torch.testing.assert_close(motion[1, :, 2], basis[:, :128].T @ code[1, :, 2])  # per time step (eq. 4.3)
    torch.testing.assert_close(static[1], basis[:, 128:].T @ code[1].mean(1))  # of the time-averaged code
    # a code constant in time is rebuilt exactly by r_m + r_c: the decoder receives it back (eq. 4.2)
    seen = {}
    net.decoder.register_forward_pre_hook(lambda module, args: seen.update(code=args[0]))
    constant = code[:, :, :1].expand_as(code)
    net.decode(*[torch.einsum("cj,nct->njt", basis[:, :128], constant), constant.mean(2) @ basis[:, 128:]])
    torch.testing.assert_close(seen["code"], constant, atol=1e-5, rtol=0)


def test_retargeting_a_clip_onto_itself_is_its_own_decoding():
    net = _net()
    x = _clips()
    torch.testing.assert_close(net.retarget(x, x), net.decode(*net.encode(x)))
    torch.testing.assert_close(net(x), net.decode(*net.encode(x)))


def test_compose_averages_motion_and_keeps_the_first_static():
    net = _net()
    a, b = _clips(seed=2), _clips(seed=3)
    (ma, sa), (mb, _) = net.encode(a), net.encode(b)
    calls = []
    decode = net.decode
    net.decode = lambda motion, static: calls.append((motion, static)) or decode(motion, static)
    out = net.compose(a, b)
    [(motion, static)] = calls
    torch.testing.assert_close(motion, (ma + mb) / 2)  # eq. 4.5: (r_m + r_m') / 2 ...
    torch.testing.assert_close(static, sa)  # ... + r_c
    torch.testing.assert_close(motion[0, 5, 1], (ma[0, 5, 1] + mb[0, 5, 1]) / 2)
    torch.testing.assert_close(out, decode((ma + mb) / 2, sa))


def test_without_dictionary_the_code_splits_on_the_fixed_basis():
    net = _net(use_dictionary=False)
    assert not any(name == "dictionary" for name, _ in net.named_parameters())
    x = _clips()
    code = net.encoder(x)
    motion, static = net.encode(x)
    torch.testing.assert_close(motion, code[:, :128])
    torch.testing.assert_close(static, code[:, 128:].mean(2))


def test_any_layout_width_and_the_registry_build():
    net = MODELS.build(dict(type="MotionGenerator", num_joints=17, root=4, motion_dims=96))
    motion, static = net.encode(torch.randn(2, 34, 16))
    assert motion.shape == (2, 96, 2) and static.shape == (2, 64)
    with pytest.raises(ValueError, match="motion_dims"):
        MotionGenerator(num_joints=17, motion_dims=160)
