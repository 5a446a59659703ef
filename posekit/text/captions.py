"""Template captions: sentences made from a clip's class name and description, for datasets without captions.

A template is a Python format string over three fields: ``{action}`` (the class name as words: ``class_phrase``),
``{name}`` (the class name as stored) and ``{description}`` (the class description; a template that uses it is
skipped for a class without one).
"""

from __future__ import annotations

import re
import string
from pathlib import Path

from ..errors import InputError

DEFAULT_TEMPLATES = ("a person {action}", "a video of a person {action}", "{description}")
FIELDS = ("action", "name", "description")
# a word boundary inside CamelCase: "pickUp", "PickUp" -> "pick Up"; "HTTPServer" -> "HTTP Server"
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def class_phrase(name: str) -> str:
    """A class name as words: snake_case, kebab-case and CamelCase split and lower-cased, acronyms kept
    ("jumping_jacks" -> "jumping jacks", "PickUp" -> "pick up", "watch TV" and "pick up with one hand" stay)."""
    words = _CAMEL.sub(" ", re.sub(r"[_\-]+", " ", name)).split()
    return " ".join(word if len(word) > 1 and word.isupper() else word.lower() for word in words)


def check_templates(templates) -> list[str]:
    """The templates, refused with one line if one is malformed, names a field other than ``FIELDS`` or none."""
    if not templates:
        raise InputError("no caption templates given")
    for template in templates:
        fields = template_fields(template)
        unknown = sorted(fields - set(FIELDS))
        if unknown:
            raise InputError(
                f"caption template {template!r}: unknown field {{{unknown[0]}}}; fields: "
                + ", ".join(f"{{{field}}}" for field in FIELDS)
            )
        if not fields:
            raise InputError(f"caption template {template!r} names no field: every clip would get the same caption")
    return list(templates)


def template_fields(template: str) -> set[str]:
    """The fields a template names (``{action}`` -> "action"); a malformed template is refused with one line."""
    try:
        return {field for _, field, _, _ in string.Formatter().parse(template) if field is not None}
    except ValueError as e:
        raise InputError(f"caption template {template!r}: {e}") from None


def read_templates(path: str | Path) -> list[str]:
    """Templates from a text file, one per line; blank lines are skipped."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(f"{path}: cannot read templates ({e})") from None
    return [line.strip() for line in lines if line.strip()]


def class_captions(name: str, description: str, templates) -> list[str]:
    """The captions of a class: each template filled in, those needing a description skipped when it has none."""
    values = {"action": class_phrase(name), "name": name, "description": " ".join(description.split())}
    captions = []
    for template in templates:
        if "description" in template_fields(template) and not values["description"]:
            continue
        caption = " ".join(template.format(**values).split())
        if caption and caption not in captions:
            captions.append(caption)
    return captions


def caption_store(path, templates, *, output=None, force: bool = False, only_missing: bool = False) -> dict:
    """Write template captions (``class_captions``) into ``/clips/text`` of the store at ``path`` (or of a copy at
    ``output``) for every labelled clip. A store that has captions already is refused unless ``force`` (replace
    them) or ``only_missing`` (caption only the clips without). Unlabelled clips keep what they have."""
    from ..store import StoreEditor  # h5py: not imported by ``posekit --help``, which reads DEFAULT_TEMPLATES

    templates = check_templates(templates)
    steps = {"step": "text-caption", "templates": templates}
    with StoreEditor(path, output, provenance=steps) as editor:
        store = editor.store
        existing = store.captions()
        captioned = sum(1 for captions in existing if captions)
        if captioned and not (force or only_missing):
            raise InputError(
                f"{path}: {captioned} clips have captions already; --force replaces them, "
                f"--only-missing captions the other clips"
            )
        per_class = [class_captions(n, d, templates) for n, d in zip(store.classes, store.class_descriptions)]
        replaced = [label >= 0 and not (only_missing and old) for label, old in zip(store.labels, existing)]
        captions = [per_class[label] if new else old for label, old, new in zip(store.labels, existing, replaced)]
        editor.set_captions(captions)
    written = [clip_captions for clip_captions, new in zip(captions, replaced) if new and clip_captions]
    return {
        "output": str(output or path),
        "clips": len(written),
        "captions": sum(map(len, written)),
        "uncaptioned": sum(1 for clip_captions in captions if not clip_captions),
        "example": next((texts[0] for texts in per_class if texts), ""),
    }
