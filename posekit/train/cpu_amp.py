"""``--amp`` without a GPU: bfloat16 autocast on the CPU, which mmengine's AmpOptimWrapper refuses (it asserts a
GPU). bfloat16 keeps float32's exponent range, so, unlike float16, it needs no loss scaling."""

from contextlib import contextmanager

import torch
from mmengine.optim import OptimWrapper

from ..registry import OPTIM_WRAPPERS


def cpu_supports_bfloat16() -> bool:
    """True where oneDNN has bfloat16 kernels (AVX512-BF16 or AMX); elsewhere autocast would only emulate it."""
    return torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported()


@OPTIM_WRAPPERS.register_module()
class CPUBFloat16OptimWrapper(OptimWrapper):
    """The training forward (and so the backward) under ``torch.autocast("cpu", bfloat16)``; evaluation stays
    float32."""

    @contextmanager
    def optim_context(self, model):
        with super().optim_context(model), torch.autocast("cpu", dtype=torch.bfloat16):
            yield
