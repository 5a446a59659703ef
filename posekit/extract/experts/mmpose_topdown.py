"""mmpose top-down models (RTMPose, HRNet, ViTPose...) from a config and a checkpoint (local path or URL).

Runs on the pinned CPU stack with mmcv-lite (posekit.compat stands in for its missing compiled ops): models that
never call a compiled op build and run; one that does raises, naming the op. Without a person detector the whole
frame is the one person box (single-person). Frames of a batch go through the model as one batch."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ...errors import InputError, PosekitError
from ...layouts import Layout, available, get_layout
from ...registry import EXPERTS
from .base import Expert, FramePoses

WEIGHTS_HINT = (
    'give the weights as "checkpoint": a local .pth file (downloaded from the mmpose model zoo, '
    "https://mmpose.readthedocs.io/en/latest/model_zoo.html, on a machine with internet), or its URL "
    "where internet is available"
)


def _resolve_config(config: str, base: Path | None) -> Path:
    """A config path, relative to the expert spec's folder, or one of the configs mmpose ships."""
    candidates = [Path(config)] + ([base / config] if base is not None else [])
    import mmpose

    shipped = Path(mmpose.__file__).parent / ".mim" / "configs"
    candidates.append(shipped / config)
    candidates += sorted(shipped.rglob(Path(config).name)) if not Path(config).is_absolute() else []
    for path in candidates:
        if path.is_file():
            return path
    raise InputError(f"{config}: no such mmpose config (a path, or a config file name shipped with mmpose)")


@EXPERTS.register_module("mmpose")
class MmposeTopDown(Expert):
    batch_size = 8

    def __init__(
        self,
        config,
        checkpoint=None,
        name: str | None = None,
        layout: str | None = None,
        device: str = "cpu",
        base: Path | None = None,
        trust_checkpoint: bool = False,
    ):
        self.name = name or f"mmpose-{Path(config).stem}"
        if not checkpoint:
            raise InputError(f"expert {self.name!r}: no checkpoint; {WEIGHTS_HINT}")
        if "://" not in str(checkpoint):
            checkpoint = Path(checkpoint) if Path(checkpoint).is_absolute() or base is None else base / checkpoint
            if not checkpoint.is_file():
                raise InputError(f"{checkpoint}: no such checkpoint file; {WEIGHTS_HINT}")
        config = _resolve_config(str(config), base)
        from ... import checkpoints
        from ...compat import ensure_mmpose_importable

        ensure_mmpose_importable()
        import torch
        from mmpose.apis import init_model

        if device.startswith("cuda") and not torch.cuda.is_available():
            raise PosekitError(f"expert {self.name!r}: --device cuda but torch sees no GPU")
        try:
            # init_model reads the weights and dataset meta, never the config text inside
            with checkpoints.mmengine_loads(checkpoint, trust=trust_checkpoint, config_ignored=True):
                self._model = init_model(str(config), str(checkpoint), device=device)
        except PosekitError as e:
            raise InputError(f'{e} (an expert spec says so with "trust_checkpoint": true)') from None
        except (OSError, RuntimeError, ConnectionError) as e:
            first = str(e).splitlines()[0] if str(e) else type(e).__name__
            raise InputError(f"{checkpoint}: cannot load the checkpoint ({first}); {WEIGHTS_HINT}") from None
        names = [
            self._model.dataset_meta["keypoint_id2name"][i] for i in range(self._model.dataset_meta["num_keypoints"])
        ]
        self.layout = get_layout(layout) if layout else _layout_of(names, self.name)
        from mmengine.dataset import Compose

        self._pipeline = Compose(self._model.cfg.test_dataloader.dataset.pipeline)

    def predict(self, frames, indices):
        import torch
        from mmengine.dataset import pseudo_collate

        data = []
        for frame in frames:
            info = dict(
                img=frame,
                bbox=np.array([[0, 0, frame.shape[1], frame.shape[0]]], np.float32),
                bbox_score=np.ones(1, np.float32),
                **self._model.dataset_meta,
            )
            data.append(self._pipeline(info))
        with torch.no_grad():
            results = self._model.test_step(pseudo_collate(data))
        out = []
        for sample in results:
            pred = sample.pred_instances
            out.append(
                FramePoses(
                    np.asarray(pred.keypoints, np.float32)[..., :2], np.asarray(pred.keypoint_scores, np.float32)
                )
            )
        return out


def _layout_of(names: list[str], expert: str) -> Layout:
    """The built-in layout with exactly these joint names, else one named after the expert."""
    for layout_name in available():
        if list(get_layout(layout_name).joints) == names:
            return get_layout(layout_name)
    return Layout(name=f"{expert}-joints", joints=tuple(names))
