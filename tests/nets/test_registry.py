from mmengine.registry import DefaultScope

from posekit.nets import UNIK
from posekit.registry import METRICS, MODELS


def test_posekit_registries_build_whatever_scope_a_previous_runner_left_current():
    DefaultScope.get_instance("scope-left-by-an-earlier-runner", scope_name="mmengine")  # as a Runner leaves it
    assert DefaultScope.get_current_instance().scope_name == "mmengine"
    net = MODELS.build(dict(type="UNIK", in_channels=2, num_joints=5, num_persons=1, num_classes=3))
    assert isinstance(net, UNIK)
    assert type(METRICS.build(dict(type="ClipAccuracy"))).__name__ == "ClipAccuracy"
    assert DefaultScope.get_current_instance().scope_name == "mmengine"  # restored afterwards
