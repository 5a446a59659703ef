"""``posekit export``: a trained action recogniser (UNIK, ST-GCN, CTR-GCN) as an ONNX model with dynamic batch and
frame axes, checked against PyTorch by onnxruntime before it is written.

The graph maps keypoints (N, C, T, V, M) to logits (N, classes): no softmax inside, so the export gives the same
numbers as the network and fuses like its scores. What labelling needs beside the graph goes into the file's
metadata (:mod:`.metadata`)."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import torch

from ..errors import PosekitError
from ..store import atomic_path
from .metadata import INPUT_NAME, OUTPUT_NAME, describe

# The newest opset torch's TorchScript exporter handles (it warns above 20). torch's other exporter (dynamo=True)
# needs onnxscript, which posekit does not install; onnx 1.17 and onnxruntime 1.31 read opsets up to 22 and beyond.
OPSET = 20
TRACE_SHAPE = (2, 32)  # (clips, frames) of the example input the graph is traced with
CHECK_SHAPES = ((1, 20), (3, 45))  # other batch sizes and frame counts, to check that both axes are dynamic
TOLERANCE = 1e-4  # on logits, absolute and relative to their size


def export_checkpoint(checkpoint, output, *, trust_checkpoint: bool = False) -> dict:
    """Export a ``posekit train unik / stgcn / ctrgcn`` checkpoint to ``output`` (.onnx); returns its ``info``
    (network, classes, stream...), the opset and the check against PyTorch (:func:`write_onnx`)."""
    from ..train.api import CheckpointRecognizer

    output = Path(output)
    if output.suffix.lower() != ".onnx":
        raise PosekitError(f"{output}: an export is written as .onnx (posekit predict tells exports by it)")
    recognizer = CheckpointRecognizer(checkpoint, device="cpu", trust_checkpoint=trust_checkpoint)
    check = write_onnx(recognizer.net, recognizer.info, output)
    return {**recognizer.info, **check, "opset": OPSET, "output": output}


def write_onnx(net: torch.nn.Module, info: dict, output) -> dict:
    """``net`` (a :class:`~posekit.nets.units.SkeletonNet` in eval mode) as ONNX with ``info`` in its metadata,
    written only if onnxruntime's logits match PyTorch's; returns their largest difference (``max_difference``)
    and the largest logit (``max_logit``)."""
    import onnx

    from ..nets.units import SkeletonNet

    if not isinstance(net, SkeletonNet):
        raise PosekitError(f"{info['model']}: not a skeleton network of posekit's (UNIK, ST-GCN, CTR-GCN); no export")
    channels, joints, persons = net.data_bn.expected
    with atomic_path(output) as tmp:
        _trace(net, _example(net, *TRACE_SHAPE), tmp)
        model = onnx.load(tmp)
        onnx.helper.set_model_props(model, describe(info, {"C": channels, "V": joints, "M": persons}, OPSET))
        onnx.checker.check_model(model)
        onnx.save(model, tmp)
        check = _check_against_torch(net, tmp, info["model"])
    return check


def _example(net, clips: int, frames: int) -> torch.Tensor:
    channels, joints, persons = net.data_bn.expected
    generator = torch.Generator().manual_seed(clips * 1000 + frames)  # fixed, and apart from the global seed
    return torch.randn(clips, channels, frames, joints, persons, generator=generator)


def _trace(net: torch.nn.Module, example: torch.Tensor, path) -> None:
    """Trace ``net`` into ``path``. A tracer warning (Python control flow on tensor values, whose branch the graph
    would freeze) stops the export instead of leaving a graph that is right only for the example's shapes."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", torch.jit.TracerWarning)
        # The TorchScript exporter is deprecated in favour of the dynamo one, which needs onnxscript (see OPSET).
        warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"torch\.onnx")
        warnings.filterwarnings("ignore", message="You are using the legacy TorchScript-based ONNX export")
        torch.onnx.export(
            net,
            (example,),
            str(path),
            dynamo=False,
            opset_version=OPSET,
            input_names=[INPUT_NAME],
            output_names=[OUTPUT_NAME],
            dynamic_axes={INPUT_NAME: {0: "N", 2: "T"}, OUTPUT_NAME: {0: "N"}},
        )
    frozen = [w for w in caught if issubclass(w.category, torch.jit.TracerWarning)]
    if frozen:
        reason = str(frozen[0].message).splitlines()[0]
        raise PosekitError(f"cannot export {type(net).__name__}: its trace depends on Python control flow ({reason})")
    for w in caught:  # the exporter's other warnings, as they would have shown
        warnings.showwarning(w.message, w.category, w.filename, w.lineno)


def _check_against_torch(net: torch.nn.Module, path, name: str) -> dict:
    """The largest logit difference between onnxruntime and PyTorch, and the largest logit, on inputs of other
    batch sizes and frame counts than the trace's; a one-line error when the difference exceeds the tolerance."""
    from .runtime import inference_session

    session = inference_session(path)
    differences, scales = [], []
    for clips, frames in CHECK_SHAPES:
        example = _example(net, clips, frames)
        with torch.no_grad():
            expected = net(example).numpy()
        (got,) = session.run([OUTPUT_NAME], {INPUT_NAME: example.numpy()})
        differences.append(float(np.abs(got - expected).max()))
        scales.append(float(np.abs(expected).max()))
        if differences[-1] > TOLERANCE * max(1.0, scales[-1]):
            raise PosekitError(
                f"{name}: onnxruntime's logits differ from PyTorch's by {differences[-1]:.3g} on {clips} clips of "
                f"{frames} frames; nothing written"
            )
    return {"max_difference": max(differences), "max_logit": max(scales)}
