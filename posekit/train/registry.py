"""posekit's children of mmengine's registries, so configs name posekit classes with ``type='...'``."""
from mmengine.registry import DATASETS as MMENGINE_DATASETS
from mmengine.registry import METRICS as MMENGINE_METRICS
from mmengine.registry import Registry

DATASETS = Registry("dataset", parent=MMENGINE_DATASETS, scope="posekit", locations=["posekit.train"])
METRICS = Registry("metric", parent=MMENGINE_METRICS, scope="posekit", locations=["posekit.train"])
