"""``posekit extract``: videos -> a proposals store of 2D poses, one clip per (video, expert), persons tracked
consistently across frames and experts (data_schemas/proposals.md), the input of ``posekit refine``."""

from .clips import clip_id, extract_video  # noqa: F401
from .runner import extract  # noqa: F401
