"""Rodent branch: motion-initialised detection and tracking, RatPose-style position prediction (DMSD), LSTM
self-supervised behaviour embeddings, and kinematics of keypoint files labs already have."""
