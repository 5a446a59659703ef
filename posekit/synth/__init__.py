"""Synthetic training data from 3D skeletons: motions retargeted onto random bodies and rendered from camera views
(thesis ch. 4, the motion generator's cross-reconstruction ground truth)."""

THESIS_YAWS = (-90, -60, -30, 0, 30, 60, 90)  # the camera views of the thesis's Mixamo renders (degrees)
