"""``--amp`` without a GPU: the bfloat16 CPU optimiser wrapper and how ``--amp`` chooses it."""

import pytest
import torch
from mmengine.config import Config

from posekit.errors import PosekitError
from posekit.train import overrides
from posekit.train.cpu_amp import CPUBFloat16OptimWrapper


def test_training_forward_runs_in_bfloat16_and_the_weights_stay_float32():
    torch.manual_seed(0)
    model = torch.nn.Linear(4, 3)
    wrapper = CPUBFloat16OptimWrapper(optimizer=torch.optim.SGD(model.parameters(), lr=0.5))
    x, y = torch.randn(8, 4), torch.randint(3, (8,))
    before = model.weight.detach().clone()
    with wrapper.optim_context(model):
        logits = model(x)
        loss = torch.nn.functional.cross_entropy(logits, y)
    assert logits.dtype == torch.bfloat16
    assert loss.item() == pytest.approx(torch.nn.functional.cross_entropy(model(x), y).item(), rel=2e-2)
    wrapper.update_params(loss)
    assert model.weight.dtype == torch.float32 and model.weight.grad is None  # stepped, then zeroed
    assert not torch.equal(model.weight.detach(), before)
    assert model(x).dtype == torch.float32  # outside the training step (evaluation) nothing is cast


def _cfg():
    return Config(dict(optim_wrapper=dict(type="OptimWrapper"), randomness=dict(seed=None)))


def test_amp_picks_bfloat16_on_a_cpu_that_has_its_kernels(monkeypatch, tmp_path):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(overrides, "cpu_supports_bfloat16", lambda: True)
    cfg = _cfg()
    overrides.apply_overrides(cfg, tmp_path, seed=3, amp=True)
    assert cfg.optim_wrapper.type == "CPUBFloat16OptimWrapper" and cfg.randomness.seed == 3


def test_amp_picks_float16_with_loss_scaling_where_a_gpu_is_visible(monkeypatch, tmp_path):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    cfg = _cfg()
    overrides.apply_overrides(cfg, tmp_path, amp=True)
    assert cfg.optim_wrapper.type == "AmpOptimWrapper"


def test_amp_is_refused_with_neither_a_gpu_nor_bfloat16_kernels(monkeypatch, tmp_path):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(overrides, "cpu_supports_bfloat16", lambda: False)
    with pytest.raises(PosekitError, match="train without --amp"):
        overrides.apply_overrides(_cfg(), tmp_path, amp=True)
