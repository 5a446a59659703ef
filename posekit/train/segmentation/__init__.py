"""Action segmentation on untrimmed skeleton sequences (thesis ch. 4, sec. 4.3.2: LAC's visual encoder transferred
to segmentation): sliding windows over the sequences of a store with per-frame labels (:mod:`.windows`), UNIK's
per-frame head trained with binary cross-entropy per frame and class (:mod:`.model`), and the frame-level metrics
over whole sequences, the scores of overlapping windows averaged (:mod:`.metric`). ``posekit train segment`` is
the trainer (:mod:`posekit.train.api`)."""

from . import metric, model, windows  # noqa: F401  (registration)
