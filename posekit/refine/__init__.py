"""``posekit refine`` around pose_refine's array algorithms: reading proposals stores, writing the refined store
(:mod:`.store`), the quality report's files and figures (:mod:`.report`), and the pseudo-label files with the
frames they need (:mod:`.pseudo_labels`). pose_refine never imports posekit; only this side reads and writes."""
