"""Labelling clips with an exported recogniser (``posekit export``) through onnxruntime on the CPU."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..errors import InputError, PosekitError
from .metadata import INPUT_NAME, OUTPUT_NAME, read_info


def inference_session(path, *, threads: int | None = None):
    """An onnxruntime CPU session for ``path`` (``threads``: intra-op threads, default onnxruntime's); a one-line
    error for a file onnxruntime cannot load."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    if threads is not None:
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
    try:
        return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as e:  # onnxruntime raises its own error types (Fail, InvalidProtobuf, NoSuchFile...)
        reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise PosekitError(f"{path}: not a model onnxruntime can load ({reason})") from None


class OnnxRecognizer:
    """An exported action recogniser: ``info`` (network, classes, layout JSON, stream, test pipeline) read from its
    metadata, as :class:`posekit.train.api.CheckpointRecognizer` reads it from a checkpoint, and ``logits``."""

    def __init__(self, path, *, threads: int | None = None):
        if not Path(path).is_file():
            raise PosekitError(f"{path}: no such file")
        self.session = inference_session(path, threads=threads)
        self.info = read_info(self.session.get_modelmeta().custom_metadata_map, path)
        _, channels, _, joints, persons = self.session.get_inputs()[0].shape
        self.expected = (channels, joints, persons)

    def logits(self, keypoints: torch.Tensor) -> torch.Tensor:
        """(N, C, T, V, M) keypoints -> (N, classes) float32 logits; C, V and M must be the model's, as for the
        network in PyTorch."""
        if keypoints.dim() != 5 or (keypoints.shape[1], keypoints.shape[3], keypoints.shape[4]) != self.expected:
            c, v, m = self.expected
            raise InputError(f"expected skeletons shaped (N, C={c}, T, V={v}, M={m}), got {tuple(keypoints.shape)}")
        feed = np.ascontiguousarray(keypoints.numpy(), dtype=np.float32)
        (logits,) = self.session.run([OUTPUT_NAME], {INPUT_NAME: feed})
        return torch.from_numpy(logits)
