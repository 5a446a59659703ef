"""posekit's children of mmengine's registries, so configs with ``default_scope = "posekit"`` name posekit
classes with ``type='...'`` and still reach everything of mmengine's (loops, optimizers, hooks...).

Every root the Runner builds from gets a child here (as mmdet and mmpose do); without one, mmengine warns on
each build and falls back to its root. Models have theirs in :mod:`posekit.nets.registry`."""
import mmengine.registry as mm
from mmengine.registry import Registry

from ..nets.registry import ScopedRegistry


def _child(root: Registry) -> Registry:
    return ScopedRegistry(root.name, parent=root, scope="posekit", locations=["posekit.train"])


DATASETS = _child(mm.DATASETS)
METRICS = _child(mm.METRICS)
OPTIM_WRAPPERS = _child(mm.OPTIM_WRAPPERS)
_OTHERS = [_child(getattr(mm, name)) for name in (
    "DATA_SAMPLERS", "EVALUATOR", "HOOKS", "LOG_PROCESSORS", "LOOPS", "MODEL_WRAPPERS", "OPTIMIZERS",
    "OPTIM_WRAPPER_CONSTRUCTORS", "PARAM_SCHEDULERS", "RUNNERS", "RUNNER_CONSTRUCTORS",
    "VISBACKENDS", "VISUALIZERS", "WEIGHT_INITIALIZERS", "FUNCTIONS", "TRANSFORMS", "TASK_UTILS", "INFERENCERS",
    "STRATEGIES")]
