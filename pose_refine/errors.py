"""The one exception pose_refine raises: its algorithms were given arrays or settings they cannot work on."""


class RefineError(ValueError):
    """Arrays of the wrong shape, indices outside them, settings out of range: a one-line message says which.

    posekit's command line reports it as one line, as it does its own PosekitError."""
