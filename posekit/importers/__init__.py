"""Readers of the skeleton files labs already have, each registered in :data:`posekit.registry.IMPORTERS` under
its ``posekit convert`` name.

A reader is ``read(sources: list[Path], *, layout=None, max_persons=None, <its options>)``, returning a
:class:`~posekit.importers.base.ImportedDataset`, registered with the endings of the files it takes from a folder.
Its keyword parameters are its options, all of them: ``posekit convert`` lists them from the signature and
refuses any other ``-O KEY``, so a reader takes no ``**kwargs``::

    @IMPORTERS.register_module("coco", suffixes=(".json",))
    def read_coco(sources, *, layout=None, max_persons=None, fps=None) -> ImportedDataset: ...

A new module in this package is found on its own: importing the package imports every module in it, so the
registry, and with it ``posekit convert``'s FORMAT choices, lists each reader.
"""

import pkgutil
from importlib import import_module

for _module in pkgutil.iter_modules(__path__):
    import_module(f"{__name__}.{_module.name}")
