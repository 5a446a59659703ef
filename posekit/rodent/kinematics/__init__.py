"""Cleaning keypoint tracks and measuring movement: speed, heading, per-minute tables and plots."""
