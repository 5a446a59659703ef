"""posekit's build step: the model zoo ships inside the package. Metadata lives in setup.cfg.

``models/`` stays at the top of the source tree (the one source of truth, and not a package). A wheel gets a copy
as ``posekit/.mim/models``, as mmaction2 and mmpose ship their configs in ``<package>/.mim``; an editable install
reads ``models/`` in place (``posekit.zoo.models_dir``), so it needs no copy.
"""
import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ZOO = "models"
ZOO_IN_PACKAGE = ("posekit", ".mim", "models")


class BuildPyWithZoo(build_py):
    """build_py that also copies models/ into the built posekit package (not in editable mode)."""

    def run(self):
        super().run()
        if self.editable_mode:
            return
        target = Path(self.build_lib, *ZOO_IN_PACKAGE)
        shutil.rmtree(target, ignore_errors=True)  # a stale copy from an earlier build must not linger
        shutil.copytree(ZOO, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))


setup(cmdclass={"build_py": BuildPyWithZoo})
