"""The registry of posekit networks, a child of mmengine's, so configs build them with ``dict(type='UNIK', ...)``."""
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import Registry

MODELS = Registry("model", parent=MMENGINE_MODELS, scope="posekit", locations=["posekit.nets"])
