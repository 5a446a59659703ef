"""RTMPose-family models exported to ONNX, run through rtmlib's pre- and post-processing on onnxruntime.

The model is a local ``.onnx`` file (rtmlib's ready-made solutions download theirs at run time, which fails
offline). Without a person detector the whole frame is the one person box, so it is single-person like
BlazePose. Frames are batched when the model's batch axis is dynamic."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import numpy as np

from ...errors import InputError, PosekitError
from ...layouts import get_layout
from ...registry import EXPERTS
from .base import Expert, FramePoses


@EXPERTS.register_module("rtmlib")
class RtmlibPose(Expert):
    def __init__(
        self,
        model,
        name: str | None = None,
        layout: str = "coco-17",
        input_size=None,
        device: str = "cpu",
        batch_size: int = 16,
    ):
        model = Path(model)
        if not model.is_file():
            raise InputError(f"{model}: no such ONNX model file (rtmlib experts need a local .onnx)")
        self.name = name or f"rtmlib-{model.stem}"
        self.layout = get_layout(layout)
        import onnxruntime
        from rtmlib import RTMPose

        if device.startswith("cuda") and "CUDAExecutionProvider" not in onnxruntime.get_available_providers():
            raise PosekitError(
                f"expert {self.name!r}: --device cuda needs onnxruntime-gpu; this onnxruntime "
                f"has {', '.join(onnxruntime.get_available_providers())}"
            )
        try:
            with contextlib.redirect_stdout(io.StringIO()):  # rtmlib prints a line per model it loads
                self._model = RTMPose(
                    str(model), backend="onnxruntime", device="cuda" if device.startswith("cuda") else "cpu"
                )
        except Exception as e:  # onnxruntime raises its own types for a file that is not a model
            raise InputError(f"{model}: not a readable ONNX model ({type(e).__name__}: {e})") from None
        shape = self._model.session.get_inputs()[0].shape  # (batch, 3, height, width)
        if input_size is None:
            if not all(isinstance(v, int) for v in shape[2:]):
                raise InputError(f'{model}: input size is dynamic; give it as "input_size": [width, height]')
            input_size = (shape[3], shape[2])
        self._model.model_input_size = tuple(input_size)
        self.batch_size = batch_size if not isinstance(shape[0], int) else 1

    def predict(self, frames, indices):
        model = self._model
        crops, placements = [], []
        for frame in frames:
            box = [0, 0, frame.shape[1], frame.shape[0]]
            image, center, scale = model.preprocess(frame, box)
            crops.append(image.transpose(2, 0, 1))
            placements.append((center, scale))
        session = model.session
        outputs = session.run(None, {session.get_inputs()[0].name: np.stack(crops).astype(np.float32)})
        out = []
        for i, (center, scale) in enumerate(placements):
            xy, score = model.postprocess([o[i : i + 1] for o in outputs], center, scale)
            # The whole-frame box says nothing about the person: the tracker gets the keypoints' extent instead.
            out.append(FramePoses(xy.astype(np.float32), score.astype(np.float32)))
        return out
