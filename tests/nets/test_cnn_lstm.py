import torch

from posekit.nets.cnn_lstm import CNNLSTM
from posekit.registry import MODELS


def tiny():
    torch.manual_seed(0)
    return MODELS.build(dict(type="CNNLSTM", channels=(4, 8), grid=2, posture_dim=6, hidden=5))


def test_shapes_of_logits_and_embeddings():
    net = tiny()
    crops = torch.rand(3, 7, 1, 24, 24)
    assert net(crops).shape == (3, 2)
    assert net.posture(crops).shape == (3, 7, 6)
    assert net.behaviour(crops).shape == (3, 5)


def test_posture_is_per_frame_and_behaviour_depends_on_order():
    net = tiny().eval()
    crops = torch.rand(1, 6, 1, 16, 16)
    order = torch.tensor([5, 0, 3, 1, 4, 2])
    with torch.no_grad():
        torch.testing.assert_close(net.posture(crops[:, order]), net.posture(crops)[:, order])
        assert not torch.allclose(net.behaviour(crops[:, order]), net.behaviour(crops))


def test_the_order_loss_trains_the_posture_cnn_down_to_its_first_layer():
    net = tiny()
    logits = net(torch.rand(4, 5, 1, 16, 16))
    torch.nn.functional.cross_entropy(logits, torch.tensor([1, 0, 1, 0])).backward()
    first = net.cnn[0][0].weight
    assert isinstance(net, CNNLSTM) and first.grad is not None and first.grad.abs().sum() > 0
