"""``posekit convert``, ``posekit store info / validate / merge / export`` and ``posekit layouts``: skeleton stores
and the files they are made from."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from ..errors import InputError, PosekitError
from ..outputs import force_option, refuse_existing
from .options import ListsArgumentChoices, RegistryChoice


@click.command(cls=ListsArgumentChoices)
@click.argument("fmt", metavar="FORMAT", type=RegistryChoice("IMPORTERS"))
@click.argument("sources", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("-o", "--output", required=True, type=click.Path(path_type=Path), help="Store file to write (.h5).")
@click.option("--layout", help="Store joints in this layout (name or layout file); joints are matched by name.")
@click.option("--max-persons", type=int, help="Keep at most this many persons per clip (formats that choose).")
@click.option("--fps", type=float, help="Frame rate, for formats whose files do not record it.")
@click.option("--skip-invalid", is_flag=True, help="Leave out empty clips (reported) instead of stopping.")
@click.option(
    "-O",
    "--option",
    "extra",
    multiple=True,
    metavar="KEY=VALUE",
    help="A reader option, e.g. -O coordinates=metric (npz, csv), -O joint_names=FILE or "
    "-O joint_order=layout (npz without joint names), -O space=color (ntu); a key the reader does "
    "not take is refused with the list of those it does.",
)
@click.option(
    "--compression",
    type=click.Choice(["lzf", "gzip", "none"]),
    default="lzf",
    show_default=True,
    help="lzf: fastest reads; gzip: ~10% smaller, readable by any HDF5 tool.",
)
@click.option("--force", is_flag=True, help="Replace OUTPUT if it exists.")
def convert(fmt, sources, output, layout, max_persons, fps, skip_invalid, extra, compression, force):
    """Import skeleton files of FORMAT (files or folders) into a new store."""
    from ..convert import convert as run

    refuse_existing(output, force=force)
    options = {k: v for k, v in dict(max_persons=max_persons, fps=fps).items() if v is not None}
    for item in extra:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise PosekitError(f"-O {item!r}: reader options are KEY=VALUE")
        options[key.replace("-", "_")] = value
    summary = run(
        fmt,
        sources,
        output,
        layout=layout,
        skip_invalid=skip_invalid,
        compression=None if compression == "none" else compression,
        **options,
    )
    for line in summary["skipped"]:
        click.echo(f"skipped {line}", err=True)
    for line in summary["warnings"]:
        click.echo(f"warning: {line}", err=True)
    click.echo(
        f"converted {summary['clips']} clips ({fmt}, layout {summary['layout']}) -> {output}"
        + (f"; skipped {len(summary['skipped'])}" if summary["skipped"] else "")
    )


@click.group()
def store():
    """Inspect, check, merge and export stores."""


@store.command()
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def info(path, as_json):
    """Summary of a store: clips, frames, layout, splits, classes, captions, feature arrays (dimensions and
    encoder); and its structural problems, if any (exit status 1), where the other commands refuse the store."""
    from ..store import SkeletonStore

    with SkeletonStore(path, check=False) as s:
        summary = {**s.info(), "classes": s.classes}
        problems = s.problems
    if as_json:
        click.echo(json.dumps(summary, indent=1))
        sys.exit(1 if problems else 0)
    splits = ", ".join(f"{k} {v}" for k, v in summary["splits"].items()) or "none"
    fpc = summary["frames_per_clip"]
    click.echo(
        f"{path}: {summary['num_clips']} clips, {summary['num_frames']} frames "
        f"(per clip {fpc['min']}..{fpc['max']}, median {fpc['median']:g})\n"
        f"layout {summary['layout']} ({summary['num_joints']} joints), {summary['coord_dims']}D "
        f"{summary['coordinates']}{' + 3D' if summary['has_3d'] else ''}, "
        f"up to {summary['max_persons']} persons\n"
        f"classes {summary['num_classes']} ({summary['labelled_clips']} clips labelled)"
        f"{': ' + abbreviated(summary['classes']) if summary['classes'] else ''}; splits: {splits}\n"
        f"text: {summary['captions']} captions on {summary['captioned_clips']} clips, "
        f"{summary['described_classes']} of {summary['num_classes']} classes described\n"
        f"features: {arrays_line(summary, 'features')}; class features: {arrays_line(summary, 'class_features')}\n"
        f"{summary['file_bytes'] / 2**20:.1f} MiB; steps: "
        + " -> ".join(str(step.get("step", "?")) for step in summary["provenance"])
    )
    if problems:
        click.echo(f"problems: {'; '.join(problems)} (posekit store validate {path} lists all)")
        sys.exit(1)


@store.command()
@click.argument("path", type=click.Path(path_type=Path))
@click.option(
    "--deep",
    is_flag=True,
    help="Also read every chunk of every array (the whole file) and list the clips whose data is damaged.",
)
def validate(path, deep):
    """Check a store against the schema in data_schemas/, for internal consistency, and every clip's keypoints
    against the writer's rules (finite, not empty)."""
    from ..store.validate import validate as check

    problems = check(path, deep=deep)
    for problem in problems:
        click.echo(problem, err=True)
    if problems:
        sys.exit(1)
    click.echo(f"{path}: valid posekit store")


@store.command()
@click.argument("stores", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("-o", "--output", required=True, type=click.Path(path_type=Path))
@force_option()
def merge(stores, output, force):
    """Write a new store with the clips of STORES, one store after the other (classes matched by name). The
    shards of one posekit extract --shard K/N run are taken in shard order, as one run would have ordered them."""
    from ..store.merge import merge as run

    refuse_existing(output, force=force)
    summary = run(stores, output)
    counts = " + ".join(str(clips) for clips in summary["inputs"].values())
    click.echo(f"merged {counts} clips{shard_note(summary['shards'])} -> {output}")


def shard_note(shards: dict | None) -> str:
    """How merge took the shards of an extraction: in shard order, and which are missing."""
    if shards is None:
        return ""
    missing = shards["missing"]
    absent = f"; shards {', '.join(map(str, missing))} of {shards['count']} missing" if missing else ""
    return f" (extraction shards in shard order{absent})"


@store.command()
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=RegistryChoice("EXPORTERS"), default="pyskl", show_default=True)
@click.option("-o", "--output", required=True, type=click.Path(path_type=Path))
@force_option()
def export(path, fmt, output, force):
    """Write a store in another format (pyskl / mmaction2 pickle)."""
    from ..exporters import export as run

    refuse_existing(output, force=force)
    count = run(fmt, path, output)
    click.echo(f"exported {count} clips ({fmt}) -> {output}")


def arrays_line(summary: dict, group: str) -> str:
    """The arrays of ``group`` in a store summary with their dimension and encoder: ``text 384-d (minilm)``."""
    described = []
    for name, trailing in summary[group].items():
        encoder = summary["encoders"].get(f"{group}/{name}")
        described.append(f"{name} {'x'.join(map(str, trailing))}-d" + (f" ({encoder})" if encoder else ""))
    return ", ".join(described) or "none"


def abbreviated(names: list[str], shown: int = 8) -> str:
    """Names joined by commas; past ``shown``, the first and last few around a count of the rest."""
    if len(names) <= shown:
        return ", ".join(names)
    head, tail = names[: shown - 2], names[-2:]
    return f"{', '.join(head)}, ... ({len(names) - shown} more), {', '.join(tail)}"


@click.command()
@click.argument("name", required=False)
def layouts(name):
    """List the built-in joint layouts; with NAME (a layout or a layout file), its joints in order, bones and
    interpolated joints."""
    from ..layouts import available, get_layout

    if name is None:
        for layout_name in available():
            layout = get_layout(layout_name)
            click.echo(f"{layout_name:16s} {layout.num_joints:3d} joints  {layout.description}")
        return
    try:
        layout = get_layout(name)
    except (KeyError, ValueError, OSError) as e:
        raise InputError(str(e.args[0] if e.args else e)) from None
    click.echo(describe_layout(layout))


def describe_layout(layout) -> str:
    """A layout as ``posekit layouts NAME`` prints it: joints in order (with their roles), bones, interpolations."""
    roles = {
        joint: ", ".join(
            role
            for role, named in (("centre", layout.centre), ("head", layout.head), ("neck", layout.neck))
            if named == joint
        )
        for joint in layout.joints
    }
    lines = [f"{layout.name}: {layout.num_joints} joints{'; ' + layout.description if layout.description else ''}"]
    if layout.aliases:
        lines.append(f"also called {', '.join(layout.aliases)}")
    if layout.up:
        lines.append(f"up: {layout.up} (in its metric coordinates)")
    lines.append("joints, in order:")
    lines += [
        f"  {index:3d} {joint}" + (f"  ({roles[joint]})" if roles[joint] else "")
        for index, joint in enumerate(layout.joints)
    ]
    lines.append(f"bones (joint - parent, towards the centre): {len(layout.bones)}")
    lines += [f"  {layout.joints[child]} - {layout.joints[parent]}" for child, parent in layout.bones]
    if layout.derived:
        lines.append("filled when a source lacks them, with the mean of:")
        lines += [f"  {joint} = {' + '.join(parts)}" for joint, parts in layout.derived.items()]
    return "\n".join(lines)


COMMANDS = (convert, store, layouts)
