"""Training glue on mmengine: the recognizer, the store dataset, the metric and the train/eval/predict API.

Importing the package registers posekit's classes in its mmengine registries (scope "posekit")."""
from ..compat import ensure_torchvision_importable

ensure_torchvision_importable()  # mmengine's runner imports torchvision; the CPU build needs its op schemas

from . import cpu_amp, datasets, metric, recognizer  # noqa: E402,F401  (registration)
