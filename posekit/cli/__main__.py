"""``python -m posekit.cli``, as torchrun launches it."""

from . import main

main()
