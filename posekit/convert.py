"""``posekit convert``: read source files with a registered reader and write them into a store."""

from __future__ import annotations

import inspect
import tempfile
from contextlib import contextmanager
from pathlib import Path

from .errors import InputError, PosekitError
from .layouts import mapping
from .progress import progress_bar
from .registry import IMPORTERS, names
from .store import Clip, StoreWriter

PROGRESS_DELAY_S = 1.0  # a conversion that ends sooner shows no progress bar


def convert(
    fmt: str,
    sources,
    output,
    *,
    layout=None,
    skip_invalid: bool = False,
    progress: bool = True,
    compression: str | None = "lzf",
    **options,
) -> dict:
    """Import ``sources`` of format ``fmt`` into a new store at ``output``; returns a summary.

    ``layout``: store the clips in this layout, mapping joints by name (interpolating where the target layout
    says how); for formats whose files do not name their joints, it names them instead.
    ``skip_invalid``: leave out clips the store refuses (zero frames, no valid joint) and report them, instead of
    stopping at the first. Malformed files always stop the import: nothing is written then.
    ``options``: the reader's own (``reader_options``); any other is an error listing them.
    The summary's ``warnings``: lines saying where the stored skeletons do not look like their layout
    (``posekit.importers.layout_fit``), for a joint order that may be wrong."""
    # The importers package imports every reader: imported here, when a conversion needs them.
    from .importers.layout_fit import LayoutFit
    from .importers.named_joints import given_layout

    formats = names(IMPORTERS)
    if fmt not in formats:
        raise PosekitError(f"unknown format {fmt!r}; formats: {', '.join(sorted(formats))}")
    reader = IMPORTERS.get(fmt)
    known = reader_options(reader)
    unknown = sorted(set(options) - set(known))
    if unknown:
        raise InputError(f"{fmt} has no option {', '.join(unknown)}; its options: {', '.join(known)}")
    given = given_layout(layout) if layout is not None else None
    sources = [Path(s) for s in sources]
    dataset = reader(sources, layout=layout, **options)
    target = given or dataset.layout
    joint_map = None if target.joints == dataset.layout.joints else mapping(dataset.layout, target)
    if joint_map is not None and not joint_map.matched.any():
        raise InputError(f"layout {target.name!r} shares no joint with {dataset.layout.name!r} of the source")
    skipped = []
    provenance = {"step": "convert", "format": fmt, "sources": [str(s) for s in sources], **dataset.provenance}
    if joint_map is not None:
        provenance["layout_mapping"] = f"{dataset.layout.name} -> {target.name}"
    with StoreWriter(
        output,
        target,
        coord_dims=dataset.coord_dims,
        classes=dataset.classes,
        class_descriptions=dataset.class_descriptions,
        name=dataset.name,
        coordinates=dataset.coordinates,
        provenance=provenance,
        compression=compression,
    ) as writer:
        clips = progress_bar(
            dataset.clips,
            desc=f"convert {fmt}",
            unit="clip",
            show=progress,
            # drawn once clips have been counted for a while: files read in one go show no "0clip" bar
            delay=PROGRESS_DELAY_S,
            leave=False,
        )
        fit = LayoutFit(target, dataset.coordinates)
        for clip in clips:
            if joint_map is not None:
                clip = _remap(clip, joint_map)
            try:
                writer.add(clip)
            except PosekitError as e:
                if not skip_invalid or "duplicate clip id" in str(e):
                    raise InputError(f"{clip.source or clip.id}: {e}") from None
                skipped.append(f"{clip.source or clip.id}: {e}")
                continue
            fit.add(clip.keypoints)
        num_clips = len(writer)
    return {
        "output": str(output),
        "format": fmt,
        "clips": num_clips,
        "skipped": skipped,
        "layout": target.name,
        "warnings": fit.warnings(),
    }


def reader_options(reader) -> list[str]:
    """The options a reader takes (``-O KEY=VALUE``, ``--fps``, ``--max-persons``): its keyword parameters but
    ``layout``, which ``convert`` passes itself. Read from the signature, so the list is never out of date."""
    return [
        name
        for name, parameter in inspect.signature(reader).parameters.items()
        if parameter.kind is parameter.KEYWORD_ONLY and name != "layout"
    ]


def parse_reader_options(items) -> dict:
    """``-O KEY=VALUE`` items as the reader's keyword arguments (``joint-order`` is ``joint_order``)."""
    options = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise PosekitError(f"-O {item!r}: reader options are KEY=VALUE")
        options[key.replace("-", "_")] = value
    return options


@contextmanager
def as_store(source, fmt: str | None = None, *, layout=None, **options):
    """``source`` itself when it is a store (``fmt`` None), else ``source`` of ``fmt`` converted into a temporary
    store (with ``layout`` and the reader's ``options``, as :func:`convert` takes them), deleted on leaving the
    block: commands that take a store or any importable file. An error of the block that names the temporary
    store names ``source`` instead: the user never saw the temporary file."""
    if fmt is None:
        yield Path(source)
        return
    with tempfile.TemporaryDirectory() as tmp:
        store = Path(tmp) / "input.h5"
        convert(fmt, [source], store, layout=layout, progress=False, **options)
        try:
            yield store
        except PosekitError as e:
            raise type(e)(str(e).replace(str(store), str(source))) from None


def _remap(clip: Clip, joint_map) -> Clip:
    """The clip with its per-joint arrays mapped to another layout."""
    clip.keypoints = joint_map.apply(clip.keypoints, axis=2)
    if clip.scores is not None:
        clip.scores = joint_map.apply(clip.scores, axis=2)
    if clip.keypoints_3d is not None:
        clip.keypoints_3d = joint_map.apply(clip.keypoints_3d, axis=2)
    return clip
