"""LayoutFit: real skeletons in their layout's order raise no warning; the same skeletons in another order do,
naming the joints it suspects."""

from posekit.importers.layout_fit import LayoutFit
from posekit.importers.nw_ucla import read_clip as read_nucla_clip
from posekit.importers.penn_action import read_penn_action
from posekit.layouts import Layout, get_layout
from tests.conftest import real_file

KINECT = get_layout("kinect-v1-20")


def nucla_clips(every=40):
    return [
        read_nucla_clip(path).keypoints for path in sorted(real_file("actions/nw_ucla/all_sqe").glob("*.json"))[::every]
    ]


def fit_warnings(clips, layout=KINECT, coordinates="metric", order=None):
    fit = LayoutFit(layout, coordinates)
    for keypoints in clips:
        fit.add(keypoints if order is None else keypoints[:, :, order])
    return fit.warnings()


def file_order(joints, layout=KINECT):
    """Column order that reads a file listing ``joints`` as if it were in ``layout``'s order."""
    return [layout.index(joint) for joint in joints]


def test_real_skeletons_in_their_own_order_fit():
    assert fit_warnings(nucla_clips()) == []
    penn = read_penn_action(sorted(real_file("actions/penn_action/labels").glob("*.mat"))[::25])
    assert fit_warnings([clip.keypoints for clip in penn.clips], penn.layout, "pixel") == []


def test_a_limb_listed_from_the_hand_inwards_shows_as_unequal_left_and_right_bones():
    arm = ("left_shoulder", "left_elbow", "left_wrist", "left_hand")
    joints = [*KINECT.joints[:4], *arm[::-1], *KINECT.joints[8:]]
    [warning] = fit_warnings(nucla_clips(), order=file_order(joints))
    assert warning.startswith("layout 'kinect-v1-20' may not fit the data: left and right bones differ in length (")
    assert "left_shoulder-shoulder_center vs right_shoulder-shoulder_center" in warning


def test_joints_that_change_places_within_clips_show_as_bones_changing_length():
    clips = []
    for keypoints in nucla_clips():
        swapped = keypoints.copy()
        half = len(keypoints) // 2  # a recorder that swapped a hand and a foot from the middle of each clip on
        swapped[half:, :, [KINECT.index("left_hand"), KINECT.index("right_foot")]] = keypoints[
            half:, :, [KINECT.index("right_foot"), KINECT.index("left_hand")]
        ]
        clips.append(swapped)
    warnings = fit_warnings(clips)
    assert any(
        w.startswith("layout 'kinect-v1-20' may not fit the data: bones change length over time (")
        and "left_hand-left_wrist" in w
        and "right_foot-right_ankle" in w
        for w in warnings
    ), warnings


def test_the_head_check_needs_metric_coordinates_and_a_layout_that_says_which_way_is_up():
    head_first = file_order(("head", "shoulder_center", "spine", "hip_center", *KINECT.joints[4:]))
    assert "head (head) is below the centre (spine)" in fit_warnings(nucla_clips(), order=head_first)[0]
    assert fit_warnings(nucla_clips(), coordinates="pixel", order=head_first) == []
    no_up = Layout.from_dict({**KINECT.to_dict(), "up": None})
    assert fit_warnings(nucla_clips(), layout=no_up, order=head_first) == []
