"""The one registry of joint layouts: names, bone tree, and mappings between layouts.

A layout is a list of joint names plus a tree of parents rooted at the body centre, so that bones
(joint minus parent) point away from the centre. Joint names are canonical snake_case words shared across
layouts ("left_shoulder" means the same joint in COCO, NTU and BlazePose), which is what lets
:func:`mapping` match joints between layouts by name. A target layout may say how to interpolate a joint
that a source lacks (``derived``: the mean of other joints), e.g. UNIK's neck from the two shoulders. A layout
may say which way is up in its metric coordinates (``up``, "+y" for Kinect camera space), so that an import can
check that an upright body has its head on top.

Built-in layouts live as JSON files in this package's folder; any other layout (animal body parts...) is read
from a JSON file, a DeepLabCut ``config.yaml`` or a SLEAP skeleton JSON with :func:`load_layout`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

_BUILTIN_DIR = Path(__file__).parent
UP_DIRECTIONS = ("+x", "-x", "+y", "-y", "+z", "-z")


@dataclass(frozen=True)
class Layout:
    name: str
    joints: tuple[str, ...]
    parents: dict[str, str] = field(default_factory=dict)  # joint -> parent, towards the centre
    derived: dict[str, tuple[str, ...]] = field(default_factory=dict)  # joint -> joints it is the mean of
    centre: str | None = None
    head: str | None = None  # with ``neck``: the segment that normalises distances (SST-A's D_normal)
    neck: str | None = None
    description: str = ""
    aliases: tuple[str, ...] = ()
    up: str | None = None  # which way is up in the layout's metric coordinates ("+y": Kinect camera space)

    def __post_init__(self):
        if len(set(self.joints)) != len(self.joints):
            dup = sorted({j for j in self.joints if self.joints.count(j) > 1})
            raise ValueError(f"layout {self.name!r}: duplicate joint names {dup}")
        unknown = [j for pair in self.parents.items() for j in pair if j not in self.joints]
        if unknown:
            raise ValueError(f"layout {self.name!r}: parents name unknown joints {sorted(set(unknown))}")
        self._check_tree()
        if self.up is not None and self.up not in UP_DIRECTIONS:
            raise ValueError(f"layout {self.name!r}: up must be one of {', '.join(UP_DIRECTIONS)}, got {self.up!r}")

    def _check_tree(self):
        for joint in self.parents:
            seen, j = set(), joint
            while j in self.parents:
                if j in seen:
                    raise ValueError(f"layout {self.name!r}: the parents of {joint!r} form a cycle")
                seen.add(j)
                j = self.parents[j]

    @property
    def up_axis(self) -> tuple[int, int] | None:
        """(axis, sign) of up in metric coordinates: (1, 1) for "+y"; None where the layout does not say."""
        if self.up is None:
            return None
        return "xyz".index(self.up[1]), 1 if self.up[0] == "+" else -1

    @property
    def num_joints(self) -> int:
        return len(self.joints)

    def index(self, joint: str) -> int:
        try:
            return self.joints.index(joint)
        except ValueError:
            raise KeyError(f"layout {self.name!r} has no joint {joint!r}; joints: {', '.join(self.joints)}") from None

    @property
    def parent_index(self) -> np.ndarray:
        """(V,) index of each joint's parent; a root is its own parent (its bone is zero)."""
        return np.array([self.index(self.parents[j]) if j in self.parents else i for i, j in enumerate(self.joints)])

    @property
    def bones(self) -> list[tuple[int, int]]:
        """(child, parent) index pairs, directed away from the centre."""
        return [(self.index(j), self.index(p)) for j, p in self.parents.items()]

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "joints": list(self.joints),
            "parents": dict(self.parents),
            "derived": {k: list(v) for k, v in self.derived.items()},
            "centre": self.centre,
            "head": self.head,
            "neck": self.neck,
            "description": self.description,
            "aliases": list(self.aliases),
            "up": self.up,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    @classmethod
    def from_dict(cls, d: dict) -> "Layout":
        return cls(
            name=d["name"],
            joints=tuple(d["joints"]),
            parents=dict(d.get("parents") or {}),
            derived={k: tuple(v) for k, v in (d.get("derived") or {}).items()},
            centre=d.get("centre"),
            head=d.get("head"),
            neck=d.get("neck"),
            description=d.get("description", ""),
            aliases=tuple(d.get("aliases") or ()),
            up=d.get("up"),
        )

    @classmethod
    def from_json(cls, text: str) -> "Layout":
        return cls.from_dict(json.loads(text))


def generic_layout(num_joints: int, name: str | None = None) -> Layout:
    """A layout with anonymous joints and no tree, for arrays whose joints are unnamed."""
    return Layout(
        name=name or f"generic-{num_joints}",
        joints=tuple(f"joint_{i}" for i in range(num_joints)),
        description="unnamed joints",
    )


def chain_layout(name: str, joints, edges=()) -> Layout:
    """A layout from body-part names and undirected edges (DeepLabCut / SLEAP skeletons).

    Each connected part is rooted at its graph centre (the joint with the smallest eccentricity, first in joint
    order on ties), so bones point away from the body centre, as for the human layouts."""
    joints = tuple(joints)
    adjacency = {j: [] for j in joints}
    for a, b in edges:
        if a in adjacency and b in adjacency and a != b:
            adjacency[a].append(b)
            adjacency[b].append(a)
    parents, placed, centre = {}, set(), None
    for start in joints:
        if start in placed:
            continue
        component = _bfs(adjacency, start)
        root = min(component, key=lambda j: (max(_bfs(adjacency, j).values()), joints.index(j)))
        centre = centre or root
        for joint, parent in _bfs_parents(adjacency, root).items():
            parents[joint] = parent
        placed.update(component)
    return Layout(name=name, joints=joints, parents=parents, centre=centre)


def _bfs(adjacency, start) -> dict:
    """Hop distance from ``start`` to every joint connected to it."""
    depth, queue = {start: 0}, [start]
    for j in queue:
        for k in adjacency[j]:
            if k not in depth:
                depth[k] = depth[j] + 1
                queue.append(k)
    return depth


def _bfs_parents(adjacency, root) -> dict:
    parents, queue, seen = {}, [root], {root}
    for j in queue:
        for k in adjacency[j]:
            if k not in seen:
                seen.add(k)
                parents[k] = j
                queue.append(k)
    return parents


@lru_cache(maxsize=None)
def _builtin() -> dict[str, Layout]:
    layouts = {}
    for path in sorted(_BUILTIN_DIR.glob("*.json")):
        layout = Layout.from_json(path.read_text())
        for key in (layout.name, *layout.aliases):
            layouts[key.lower()] = layout
    return layouts


def available() -> list[str]:
    return sorted({layout.name for layout in _builtin().values()})


def get_layout(name_or_path: str | Path | Layout) -> Layout:
    """A built-in layout by name or alias, or a layout read from a file."""
    if isinstance(name_or_path, Layout):
        return name_or_path
    key = str(name_or_path)
    if key.lower() in _builtin():
        return _builtin()[key.lower()]
    if Path(key).is_file():
        return load_layout(key)
    raise KeyError(f"unknown layout {key!r}: use one of {', '.join(available())} or a layout file (.json/.yaml)")


def load_layout(path: str | Path) -> Layout:
    """Read a layout from posekit JSON, a DeepLabCut config.yaml (bodyparts + skeleton) or a SLEAP skeleton JSON."""
    path = Path(path)
    text = path.read_text()
    if path.suffix in (".yaml", ".yml"):
        import yaml

        cfg = yaml.safe_load(text) or {}
        parts = cfg.get("multianimalbodyparts") or cfg.get("bodyparts")
        if not parts or parts == "MULTI!":
            raise ValueError(f"{path}: no 'bodyparts' list in this DeepLabCut config")
        parts = list(parts) + list(cfg.get("uniquebodyparts") or [])
        return chain_layout(cfg.get("Task") or path.stem, parts, cfg.get("skeleton") or ())
    data = json.loads(text)
    if "joints" in data:
        return Layout.from_dict({"name": path.stem, **data})
    if "nx_node_link_data" in data or "nodes" in data:  # SLEAP skeleton (jsonpickle'd networkx graph)
        return _sleap_skeleton(text, path.stem)
    raise ValueError(f"{path}: not a layout file (expected 'joints', a SLEAP skeleton, or a DeepLabCut config)")


def _sleap_skeleton(text: str, name: str) -> Layout:
    from sleap_io.io.skeleton import decode_skeleton  # jsonpickle'd networkx graph: sleap-io decodes it

    skeleton = decode_skeleton(text)
    skeleton = skeleton[0] if isinstance(skeleton, list) else skeleton
    edges = [(e.source.name, e.destination.name) for e in skeleton.edges]
    return chain_layout(skeleton.name or name, skeleton.node_names, edges)


@dataclass(frozen=True)
class JointMapping:
    """How to build each target joint from source joints: target j = mean of source[sources[j]]."""

    source: Layout
    target: Layout
    sources: tuple[tuple[int, ...], ...]  # per target joint, source indices (empty: unmatched -> NaN)

    @property
    def matched(self) -> np.ndarray:
        return np.array([len(s) > 0 for s in self.sources])

    @property
    def matrix(self) -> np.ndarray:
        """(V_target, V_source) averaging weights; a row of zeros for an unmatched joint."""
        m = np.zeros((self.target.num_joints, self.source.num_joints), np.float32)
        for t, src in enumerate(self.sources):
            np.add.at(m[t], list(src), 1.0 / max(len(src), 1))  # a source listed twice weighs twice
        return m

    def apply(self, values: np.ndarray, axis: int = -2) -> np.ndarray:
        """Map an array whose ``axis`` runs over source joints; unmatched joints become NaN.

        NaN in any source of an interpolated joint makes that joint NaN (missing stays missing)."""
        values = np.moveaxis(np.asarray(values), axis, -1)
        out = np.full(values.shape[:-1] + (self.target.num_joints,), np.nan, dtype=np.result_type(values, np.float32))
        for t, src in enumerate(self.sources):
            if src:
                out[..., t] = values[..., list(src)].mean(axis=-1)
        return np.moveaxis(out, -1, axis)


def mapping(source: Layout | str, target: Layout | str) -> JointMapping:
    """Match target joints to source joints by name, interpolating through the target's ``derived`` rules."""
    source, target = get_layout(source), get_layout(target)

    def resolve(joint: str, depth: int = 0) -> tuple[int, ...]:
        if joint in source.joints:
            return (source.index(joint),)
        rule = target.derived.get(joint) or source.derived.get(joint)
        if depth > 4 or not rule:
            return ()
        parts = [resolve(j, depth + 1) for j in rule]
        if not all(parts):
            return ()
        # The mean of means weighs each named part equally, whatever it is built from.
        return tuple(i for p in parts for i in p) if all(len(p) == 1 for p in parts) else _flatten_mean(parts)

    return JointMapping(source, target, tuple(resolve(j) for j in target.joints))


def _flatten_mean(parts):
    # Equal weights per part need repeated indices: a part built from 2 joints gets each once, one from 1 twice.
    width = int(np.lcm.reduce([len(p) for p in parts]))
    return tuple(i for p in parts for i in p for _ in range(width // len(p)))


def remap(keypoints: np.ndarray, source: Layout | str, target: Layout | str, axis: int = -2) -> np.ndarray:
    return mapping(source, target).apply(keypoints, axis=axis)
