"""The registry of posekit networks, a child of mmengine's, so configs build them with ``dict(type='UNIK', ...)``."""
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import DefaultScope, Registry


class ScopedRegistry(Registry):
    """A posekit registry that builds in posekit's scope. mmengine builds in the scope of the last Runner created
    in the process (mmpose's after a student run, say), where posekit's classes are not found."""

    def build(self, cfg, *args, **kwargs):
        with DefaultScope.overwrite_default_scope(self.scope):
            return super().build(cfg, *args, **kwargs)


MODELS = ScopedRegistry("model", parent=MMENGINE_MODELS, scope="posekit", locations=["posekit.nets"])
