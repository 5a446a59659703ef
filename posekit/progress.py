"""Progress bars, drawn on a terminal only: a log file or a pipe would keep every redraw (tqdm's carriage returns),
so where stderr is not a terminal no bar is drawn (tqdm's ``disable=None``)."""

from __future__ import annotations


def progress_bar(iterable=None, *, show: bool = True, **options):
    """A tqdm bar over ``iterable`` (or one updated by hand, with ``total``), drawn when ``show`` and stderr is a
    terminal; ``options`` are tqdm's."""
    from tqdm import tqdm  # here: `posekit --help` imports the modules that draw bars, not tqdm

    return tqdm(iterable, disable=None if show else True, **options)
