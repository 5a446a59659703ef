"""Pose experts behind one interface (:class:`Expert`), built from the names given to ``--experts``.

A name is one of::

    blazepose                      MediaPipe BlazePose, offline (single person)
    blazepose-multi                BlazePose on the crop of each face MediaPipe's face detector finds, plus the
                                   whole-frame person, offline (several persons)
    blazepose-detector             BlazePose's own person detector on the frame and its tiles, the landmark model
                                   on every person it finds, through LiteRT, offline (several persons; default)
    rtmlib:MODEL.onnx              an RTMPose-family ONNX model run by rtmlib
    FORMAT:FOLDER                  poses precomputed elsewhere: openpose, alphapose, mmpose-json, or any
                                   `posekit convert` format, matched to each video by name
    SPEC.json                      {"type": "mmpose"|"rtmlib"|"file"|"blazepose"|"blazepose-multi"|
                                   "blazepose-detector", "name": ..., ...}, e.g. {"type": "mmpose", "name":
                                   "student", "config": ..., "checkpoint": ...}

followed by test-time augmentations that make extra experts of the same model: ``+flip`` (mirrored frames,
left/right joints swapped back) and ``+scaleS`` (frames resized by S), e.g. ``blazepose+flip+scale0.75``.

Each expert class registers in :data:`posekit.registry.EXPERTS` under its "type"
(``@EXPERTS.register_module("rtmlib")``), which :func:`build_expert` builds from the other options as keyword
arguments. In a spec file, "model" and "path" are relative to the file's folder; a class whose constructor takes
``base`` gets that folder instead (mmpose resolves its config and checkpoint against it). Importing this package
imports every module in it, so a new expert module needs no list to join (one named alone on the command line,
with no file or model, is also named in BUILT_IN_EXPERTS).
"""

from __future__ import annotations

import inspect
import json
import pkgutil
from dataclasses import dataclass, field
from importlib import import_module
from pathlib import Path

from ...errors import InputError
from ...registry import EXPERTS, IMPORTERS, names
from .augment import AUGMENTATION, Augmented
from .base import Expert, FramePoses  # noqa: F401
from .files import JSON_FORMATS

for _module in pkgutil.iter_modules(__path__):
    import_module(f"{__name__}.{_module.name}")

DEFAULT_EXPERTS = ("blazepose-detector", "blazepose-detector+flip", "blazepose-detector+scale0.75")
BUILT_IN_EXPERTS = ("blazepose", "blazepose-multi", "blazepose-detector")  # named alone, no file or model
SPEC_PATHS = ("model", "path")  # options that name a file, relative to a spec file's folder


@dataclass(frozen=True)
class ExpertSpec:
    """What builds one expert; small and picklable, so worker processes build their own models from it."""

    name: str
    options: dict = field(hash=False)  # "type" plus the constructor's keyword arguments
    augmentations: tuple[str, ...] = ()


def parse_experts(text: str | list[str]) -> list[ExpertSpec]:
    """Expert specs from a comma-separated list (or a list) of names; names must be unique."""
    items = [t.strip() for t in (text.split(",") if isinstance(text, str) else text) if t.strip()]
    if not items:
        raise InputError("--experts: no expert named")
    specs = [parse_expert(item) for item in items]
    names = [s.name for s in specs]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise InputError(f"--experts: expert names must be unique; repeated: {', '.join(duplicates)}")
    return specs


def parse_expert(text: str) -> ExpertSpec:
    parts = text.split("+")
    augmentations = []
    while len(parts) > 1 and AUGMENTATION.fullmatch(parts[-1]):
        augmentations.insert(0, parts.pop())
    base = "+".join(parts)
    options = _options(base)
    if options["type"] == "file" and augmentations:
        raise InputError(f"expert {text!r}: precomputed poses cannot be augmented")
    name = options.pop("name", None) or _default_name(options)
    if "@" in name or "," in name or "+" in name or not name:
        raise InputError(f"expert {text!r}: name {name!r} must be non-empty without '@', ',' or '+'")
    return ExpertSpec("+".join([name, *augmentations]), options, tuple(augmentations))


def _options(base: str) -> dict:
    if base in BUILT_IN_EXPERTS:
        return {"type": base}
    kind, sep, rest = base.partition(":")
    if sep and kind == "rtmlib":
        return {"type": "rtmlib", "model": rest}
    if sep and (kind in JSON_FORMATS or kind in names(IMPORTERS)):
        return {"type": "file", "format": kind, "path": rest}
    path = Path(base)
    if path.suffix == ".json" and path.is_file():
        try:
            options = json.loads(path.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise InputError(f"{path}: not an expert spec (JSON: {e})") from None
        if not isinstance(options, dict) or options.get("type") not in names(EXPERTS):
            raise InputError(f'{path}: an expert spec needs "type": one of {", ".join(sorted(names(EXPERTS)))}')
        return {**options, "base": str(path.parent.resolve())}
    raise InputError(
        f"unknown expert {base!r}: use {', '.join(BUILT_IN_EXPERTS)}, rtmlib:MODEL.onnx, FORMAT:FOLDER or a spec .json"
    )


def _default_name(options: dict) -> str:
    if options["type"] == "rtmlib":
        return f"rtmlib-{Path(options['model']).stem}"
    if options["type"] == "mmpose":
        return f"mmpose-{Path(str(options.get('config', 'model'))).stem}"
    if options["type"] == "file":
        return options["format"]
    return options["type"]


def build_expert(spec: ExpertSpec, device: str = "cpu") -> Expert:
    """The expert a spec describes, its model loaded on ``device`` (cpu or cuda)."""
    options = dict(spec.options)
    expert_class, base = EXPERTS.get(options.pop("type")), options.pop("base", None)
    for key in SPEC_PATHS:
        if key in options:
            options[key] = _relative(options[key], base)
    if "base" in inspect.signature(expert_class).parameters:
        options["base"] = Path(base) if base else None
    try:
        expert = expert_class(name=spec.name.split("+")[0], device=device, **options)
    except TypeError as e:  # an unknown or missing key in a spec file
        raise InputError(f"expert {spec.name!r}: bad spec ({e})") from None
    for augmentation in spec.augmentations:
        match = AUGMENTATION.fullmatch(augmentation)
        expert = Augmented(
            expert,
            f"{expert.name}+{augmentation}",
            flip=augmentation == "flip",
            scale=float(match["scale"]) if match["scale"] else 1.0,
        )
    return expert


def _relative(path, base):
    """A path in a spec file is relative to the spec's folder."""
    if path is None or base is None or Path(path).is_absolute():
        return path
    return str(Path(base) / path)
