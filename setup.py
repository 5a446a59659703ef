"""posekit's build step: the model zoo and the written schemas ship inside the package. Metadata lives in setup.cfg.

``models/`` and ``data_schemas/`` stay at the top of the source tree (the one source of truth each, and not
packages). A wheel gets copies as ``posekit/.mim/models`` and ``posekit/.mim/data_schemas``, as mmaction2 and mmpose
ship their configs in ``<package>/.mim``; an editable install reads them in place (``posekit.package_data``), so it
needs no copy.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

SHIPPED = ("models", "data_schemas")  # top-level folders a wheel carries in posekit/.mim
IN_PACKAGE = ("posekit", ".mim")


class BuildPyWithShippedFolders(build_py):
    """build_py that also copies models/ and data_schemas/ into the built posekit package (not in editable mode)."""

    def run(self):
        super().run()
        if self.editable_mode:
            return
        for folder in SHIPPED:
            target = Path(self.build_lib, *IN_PACKAGE, folder)
            shutil.rmtree(target, ignore_errors=True)  # a stale copy from an earlier build must not linger
            shutil.copytree(folder, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))


setup(cmdclass={"build_py": BuildPyWithShippedFolders})
