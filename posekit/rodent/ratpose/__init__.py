"""RatPose-style future-position labels (seed 000) and the synthetic arena they are tested on."""
