"""Every registry of posekit, in one module (as mmpose's ``registry.py``).

Children of mmengine's registries (scope "posekit"), so configs with ``default_scope = "posekit"`` name posekit
classes with ``type='...'`` and still reach everything of mmengine's (loops, optimizers, hooks...); every root the
Runner builds from gets a child, as mmdet and mmpose do, because without one mmengine warns on each build and
falls back to its root. posekit's own registries (importers, exporters, experts, trainers) are mmengine
registries without a parent: one way to register and look up, whatever the kind.

Each registry names the modules that fill it (``locations``); ``names(REGISTRY)`` imports them and lists what
registered, so the command line's choices come from here and never from a hand-kept list.
"""

from __future__ import annotations

from importlib import import_module

import mmengine.registry as mm
from mmengine.registry import DefaultScope, Registry

SCOPE = "posekit"


class ScopedRegistry(Registry):
    """A posekit registry that builds in posekit's scope. mmengine builds in the scope of the last Runner created
    in the process (mmpose's after a student run, say), where posekit's classes are not found."""

    def build(self, cfg, *args, **kwargs):
        with DefaultScope.overwrite_default_scope(self.scope):
            return super().build(cfg, *args, **kwargs)


class OwnRegistry(Registry):
    """A registry of posekit's own kinds, looked up by plain name and quietly: mmengine's lookup logs a debug
    message, and the first message creates mmengine's logger, which imports torch (seconds) into ``posekit
    convert`` and the other commands that never need it."""

    def import_from_location(self) -> None:
        if not self._imported:
            for location in self._locations:
                import_module(location)
            self._imported = True

    def get(self, key: str):
        self.import_from_location()
        return self._module_dict.get(key)


class ReaderRegistry(OwnRegistry):
    """The importers' registry: a reader registers with the file endings it picks out of a folder, kept on the
    reader as ``reader.suffixes``: ``@IMPORTERS.register_module("coco", suffixes=(".json",))``."""

    def register_module(self, name=None, force=False, module=None, suffixes: tuple[str, ...] = ()):
        def register(reader):
            reader.suffixes = tuple(suffixes)
            return Registry.register_module(self, name, force, reader)

        return register if module is None else register(module)


def _child(root: Registry, *locations: str) -> ScopedRegistry:
    return ScopedRegistry(root.name, parent=root, scope=SCOPE, locations=list(locations or ["posekit.train"]))


# Networks and the mmengine models that wrap them for training.
MODELS = _child(mm.MODELS, "posekit.nets", "posekit.train")
DATASETS = _child(mm.DATASETS, "posekit.train")
METRICS = _child(mm.METRICS, "posekit.train")
OPTIM_WRAPPERS = _child(mm.OPTIM_WRAPPERS, "posekit.train")
HOOKS = _child(mm.HOOKS, "posekit.train")
# The Runner's other roots: children so that builds in posekit's scope find mmengine's classes without a warning.
_RUNNER_ROOTS = [
    _child(getattr(mm, name))
    for name in (
        "DATA_SAMPLERS",
        "EVALUATOR",
        "LOG_PROCESSORS",
        "LOOPS",
        "MODEL_WRAPPERS",
        "OPTIMIZERS",
        "OPTIM_WRAPPER_CONSTRUCTORS",
        "PARAM_SCHEDULERS",
        "RUNNERS",
        "RUNNER_CONSTRUCTORS",
        "VISBACKENDS",
        "VISUALIZERS",
        "WEIGHT_INITIALIZERS",
        "FUNCTIONS",
        "TASK_UTILS",
        "INFERENCERS",
        "STRATEGIES",
    )
]


def names(registry: Registry) -> list[str]:
    """The names registered in ``registry`` once the modules of its ``locations`` are imported, in order."""
    registry.import_from_location()
    return list(registry.module_dict)


# Pipeline transforms of the store Dataset (``dict(type='JointToBone')``).
TRANSFORMS = _child(mm.TRANSFORMS, "posekit.data.transforms")

# posekit's own kinds: what `posekit convert`, `store export`, `extract --experts` and `posekit train` offer.
IMPORTERS = ReaderRegistry("importer", scope=SCOPE, locations=["posekit.importers"])
EXPORTERS = OwnRegistry("exporter", scope=SCOPE, locations=["posekit.exporters"])
EXPERTS = OwnRegistry("expert", scope=SCOPE, locations=["posekit.extract.experts"])
TEXT_ENCODERS = OwnRegistry("text encoder", scope=SCOPE, locations=["posekit.text.encoders"])
TRAINERS = OwnRegistry(
    "trainer",
    scope=SCOPE,
    locations=[
        "posekit.train.api",
        "posekit.train.motion_generator",
        "posekit.train.dmsd",
        "posekit.train.lstm_selfsup",
        "posekit.train.student",
        "posekit.train.pretrain",
        "posekit.train.tmor",
    ],
)
