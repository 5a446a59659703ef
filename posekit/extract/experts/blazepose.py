"""MediaPipe BlazePose (legacy ``mp.solutions.pose``, model_complexity=1: the one model mediapipe ships inside its
wheel, so it runs offline). It is single-person: it finds the most prominent person of the whole frame and follows
it from frame to frame (video mode), so it yields at most one person per frame; CPU only."""

from __future__ import annotations

import contextlib
import os
import sys
import warnings

import numpy as np

from ...errors import PosekitError
from ...layouts import get_layout
from ...registry import EXPERTS
from .base import Expert, FramePoses


@EXPERTS.register_module("blazepose")
class BlazePose(Expert):
    batch_size = 16  # mediapipe takes one image at a time; batches only amortise the loop

    def __init__(self, name: str = "blazepose", device: str = "cpu", min_confidence: float = 0.5):
        # device: accepted like every expert's, but mediapipe's Python graph runs on the CPU whatever it says
        self.name = name
        self.layout = get_layout("blazepose-33")
        self.min_confidence = min_confidence
        self._pose = None

    def start(self, video, image_size):
        # Video mode carries state (the previous frame's person) across frames: a fresh graph per video.
        self.close()
        try:
            import mediapipe as mp
        except ImportError as e:
            raise PosekitError(f"blazepose: mediapipe is not installed ({e}); run ./install.sh") from None
        # mediapipe 0.10.14 calls a protobuf API that protobuf 4 deprecates, once per frame
        warnings.filterwarnings("ignore", message="SymbolDatabase.GetPrototype", category=UserWarning)
        with _native_stderr_silenced():
            self._pose = mp.solutions.pose.Pose(
                static_image_mode=False,
                model_complexity=1,
                min_detection_confidence=self.min_confidence,
                min_tracking_confidence=self.min_confidence,
            )
        self._quiet_frames = 3  # the graph's models start on the first frames, each printing a notice

    def predict(self, frames, indices):
        import cv2

        out = []
        for frame in frames:
            with _native_stderr_silenced() if self._quiet_frames else contextlib.nullcontext():
                result = self._pose.process(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
            self._quiet_frames = max(self._quiet_frames - 1, 0)
            if result.pose_landmarks is None:
                out.append(FramePoses.empty(self.layout.num_joints))
                continue
            marks = result.pose_landmarks.landmark
            xy = np.array([[m.x, m.y] for m in marks], np.float32) * (frame.shape[1], frame.shape[0])  # 0..1 -> pixels
            visibility = np.array([m.visibility for m in marks], np.float32)
            out.append(FramePoses(xy[None], visibility[None]))
        return out

    def close(self):
        if self._pose is not None:
            self._pose.close()
            self._pose = None


@contextlib.contextmanager
def _native_stderr_silenced():
    """Mute what mediapipe's C++ side prints to stderr while its graph starts (TFLite and absl notices, a few
    lines per model and video); Python errors still raise as usual."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
