"""posekit: skeleton-first pose pipeline and action toolkit."""

__version__ = "0.2.0"
