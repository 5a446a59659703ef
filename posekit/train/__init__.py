"""Training glue on mmengine: the models that wrap posekit's networks, the datasets, the metrics, and the trainers
with the one path they share (:mod:`posekit.train.overrides`).

Importing the package registers posekit's models, datasets, metrics and optimiser wrappers in its mmengine
registries (scope "posekit"); the trainers register in TRAINERS when its locations are imported."""

from ..compat import ensure_torchvision_importable

ensure_torchvision_importable()  # mmengine's runner imports torchvision; the CPU build needs its op schemas

from . import (  # noqa: E402,F401  (registration)
    contrastive,
    cpu_amp,
    datasets,
    metric,
    position_predictor,
    position_windows,
    recognizer,
    retarget_pairs,
    retargeting,
    segmentation,
    sequence_order,
    sequence_pairs,
    tmor,
)
