"""posekit: skeleton-first pose pipeline and action toolkit."""
__version__ = "0.1.0"
