"""NTU RGB+D 60 / 120 ``.skeleton`` text files (Kinect v2, 25 joints, up to 6 bodies per frame).

File layout: frame count; per frame a body count; per body one line of 10 values (bodyID, clippedEdges,
handLeft/RightConfidence and State, isRestricted, leanX, leanY, trackingState), the joint count (25) and one line
per joint of 12 values: x y z (camera space, metres), depthX depthY, colorX colorY, orientation w x y z,
trackingState (0 not tracked, 1 inferred, 2 tracked).

Bodies are followed by bodyID across frames; the ``max_persons`` (default 2) with the most motion are kept, motion
being the summed standard deviation of x, y and z over the frames where the body is present, as in the ST-GCN /
2s-AGCN NTU preprocessing. A joint's score is its trackingState / 2. ``space`` picks the coordinates stored as
keypoints: ``xyz`` (default, metric 3D), ``color`` (pixels of the 1920x1080 video) or ``depth`` (pixels of the
512x424 depth map); the 2D choices keep xyz in ``keypoints_3d``. Files with no body in any frame (the dataset's
"samples with missing skeletons") are skipped with a warning, as the standard protocols exclude them.

Splits from the name SsssCcccPpppRrrrAaaa: ``xsub_*`` by performer, ``xview_*`` by camera (NTU-60 protocols) and
``xset_*`` by setup parity (NTU-120: even setups train).
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import numpy as np

from ..errors import PosekitError
from ..layouts import get_layout
from ..registry import IMPORTERS
from ..store import Clip
from .base import ImportedDataset, expand, fail, iter_files

NTU_CLASSES = [
    "drink water",
    "eat meal/snack",
    "brushing teeth",
    "brushing hair",
    "drop",
    "pickup",
    "throw",
    "sitting down",
    "standing up (from sitting position)",
    "clapping",
    "reading",
    "writing",
    "tear up paper",
    "wear jacket",
    "take off jacket",
    "wear a shoe",
    "take off a shoe",
    "wear on glasses",
    "take off glasses",
    "put on a hat/cap",
    "take off a hat/cap",
    "cheer up",
    "hand waving",
    "kicking something",
    "reach into pocket",
    "hopping (one foot jumping)",
    "jump up",
    "make a phone call/answer phone",
    "playing with phone/tablet",
    "typing on a keyboard",
    "pointing to something with finger",
    "taking a selfie",
    "check time (from watch)",
    "rub two hands together",
    "nod head/bow",
    "shake head",
    "wipe face",
    "salute",
    "put the palms together",
    "cross hands in front (say stop)",
    "sneeze/cough",
    "staggering",
    "falling",
    "touch head (headache)",
    "touch chest (stomachache/heart pain)",
    "touch back (backache)",
    "touch neck (neckache)",
    "nausea or vomiting condition",
    "use a fan (with hand or paper)/feeling warm",
    "punching/slapping other person",
    "kicking other person",
    "pushing other person",
    "pat on back of other person",
    "point finger at the other person",
    "hugging other person",
    "giving something to other person",
    "touch other person's pocket",
    "handshaking",
    "walking towards each other",
    "walking apart from each other",
    # NTU RGB+D 120 additions
    "put on headphone",
    "take off headphone",
    "shoot at the basket",
    "bounce ball",
    "tennis bat swing",
    "juggling table tennis balls",
    "hush (quite)",
    "flick hair",
    "thumb up",
    "thumb down",
    "make ok sign",
    "make victory sign",
    "staple book",
    "counting money",
    "cutting nails",
    "cutting paper (using scissors)",
    "snapping fingers",
    "open bottle",
    "sniff (smell)",
    "squat down",
    "toss a coin",
    "fold paper",
    "ball up paper",
    "play magic cube",
    "apply cream on face",
    "apply cream on hand back",
    "put on bag",
    "take off bag",
    "put something into a bag",
    "take something out of a bag",
    "open a box",
    "move heavy objects",
    "shake fist",
    "throw up cap/hat",
    "hands up (both hands)",
    "cross arms",
    "arm circles",
    "arm swings",
    "running on the spot",
    "butt kicks (kick backward)",
    "cross toe touch",
    "side kick",
    "yawn",
    "stretch oneself",
    "blow nose",
    "hit other person with something",
    "wield knife towards other person",
    "knock over other person (hit with body)",
    "grab other person's stuff",
    "shoot at other person with a gun",
    "step on foot",
    "high-five",
    "cheers and drink",
    "carry something with other person",
    "take a photo of other person",
    "follow other person",
    "whisper in other person's ear",
    "exchange things with other person",
    "support somebody with hand",
    "finger-guessing game (playing rock-paper-scissors)",
]

# Cross-subject training performers (Shahroudy et al. 2016 for P001-P040; Liu et al. 2019 extend it for NTU-120).
XSUB_TRAIN_SUBJECTS = frozenset(
    [
        1,
        2,
        4,
        5,
        8,
        9,
        13,
        14,
        15,
        16,
        17,
        18,
        19,
        25,
        27,
        28,
        31,
        34,
        35,
        38,
        45,
        46,
        47,
        49,
        50,
        52,
        53,
        54,
        55,
        56,
        57,
        58,
        59,
        70,
        74,
        78,
        80,
        81,
        82,
        83,
        84,
        85,
        86,
        89,
        91,
        92,
        93,
        94,
        95,
        97,
        98,
        100,
        103,
    ]
)
XVIEW_TRAIN_CAMERAS = frozenset([2, 3])  # NTU-60 cross-view: cameras 2 and 3 train, camera 1 tests

FPS = 30.0
NAME = re.compile(r"S(\d{3})C(\d{3})P(\d{3})R(\d{3})A(\d{3})")
SPACES = {"xyz": (slice(0, 3), (1920, 1080)), "depth": (slice(3, 5), (512, 424)), "color": (slice(5, 7), (1920, 1080))}
log = logging.getLogger(__name__)


@IMPORTERS.register_module("ntu", suffixes=(".skeleton",))
def read_ntu(sources: list[Path], *, layout=None, max_persons=None, space="xyz") -> ImportedDataset:
    # The files name their joints: a --layout is applied by the convert driver, which maps joints by name.
    if space not in SPACES:
        raise PosekitError(f"ntu: space must be one of {', '.join(SPACES)}, got {space!r}")
    files = expand(sources, (".skeleton",))
    names = [NAME.fullmatch(p.stem) for p in files]
    bad = [p for p, m in zip(files, names) if m is None]
    if bad:
        raise fail(bad[0], "name is not SsssCcccPpppRrrrAaaa (NTU RGB+D sample naming)")
    # NTU-60 names its 60 classes only, so a model trained on it gets 60 outputs.
    classes = NTU_CLASSES[:60] if max(int(m[5]) for m in names) <= 60 else list(NTU_CLASSES)
    persons = 2 if max_persons is None else int(max_persons)
    return ImportedDataset(
        layout=get_layout("ntu-25"),
        clips=iter_files(files, lambda p: read_clip(p, persons, space)),
        classes=classes,
        coord_dims=3 if space == "xyz" else 2,
        coordinates="metric" if space == "xyz" else "pixel",
        name="ntu120" if len(classes) == 120 else "ntu60",
        provenance={
            "source_format": "ntu",
            "files": len(files),
            "space": space,
            "persons": f"{persons} with the most motion",
        },
    )


def read_clip(path: Path, max_persons: int = 2, space: str = "xyz"):
    """Yield the clip of one .skeleton file (nothing for a file without a single body)."""
    setup, camera, performer, _, action = (int(v) for v in NAME.fullmatch(path.stem).groups())
    if not 1 <= action <= len(NTU_CLASSES):
        raise fail(path, f"action A{action:03d} is outside A001-A120")
    joints, states = parse_skeleton(path)
    if not joints:
        log.warning("%s: no body in any frame (an NTU sample with missing skeletons); skipped", path)
        return
    ids = sorted(joints, key=lambda b: -_motion(joints[b][..., :3]))[:max_persons]  # stable: ties keep first seen
    values = np.stack([joints[b] for b in ids], axis=1)  # (T, M, 25, 12)
    coords, image_size = SPACES[space]
    splits = (
        "xsub_train" if performer in XSUB_TRAIN_SUBJECTS else "xsub_test",
        "xview_train" if camera in XVIEW_TRAIN_CAMERAS else "xview_test",
        "xset_train" if setup % 2 == 0 else "xset_test",
    )
    yield Clip(
        id=path.stem,
        keypoints=values[..., coords],
        scores=np.stack([states[b] for b in ids], axis=1) / 2,
        keypoints_3d=values[..., :3] if space != "xyz" else None,
        label=action - 1,
        fps=FPS,
        image_size=image_size,
        source=path.name,
        splits=splits,
    )


def parse_skeleton(path: Path) -> tuple[dict, dict]:
    """{bodyID: (T, V, 12) joint values} and {bodyID: (T, V) tracking states}, NaN / 0 where the body is absent."""
    try:
        tokens = path.read_text().split()
    except UnicodeDecodeError:
        raise fail(path, "not a text .skeleton file") from None
    pos, frames = 1, _count(tokens, 0, path, "frame count")
    joints, states = {}, {}
    for t in range(frames):
        bodies = _count(tokens, pos, path, f"body count of frame {t}")
        pos += 1
        for _ in range(bodies):
            body_id = tokens[pos] if pos < len(tokens) else None
            num_joints = _count(tokens, pos + 10, path, f"joint count in frame {t}")
            pos += 11
            block = tokens[pos : pos + num_joints * 12]
            if len(block) < num_joints * 12:
                raise fail(path, f"truncated in frame {t} of {frames}")
            try:
                rows = np.asarray(block, np.float32).reshape(num_joints, 12)
            except ValueError:
                raise fail(path, f"non-numeric joint values in frame {t}") from None
            pos += num_joints * 12
            if body_id not in joints:
                joints[body_id] = np.full((frames, num_joints, 12), np.nan, np.float32)
                states[body_id] = np.zeros((frames, num_joints), np.float32)
            joints[body_id][t] = rows
            states[body_id][t] = rows[:, 11]
    if pos != len(tokens):
        raise fail(path, f"{len(tokens) - pos} unexpected values after the last frame")
    return joints, states


def _count(tokens, pos, path, what) -> int:
    if pos >= len(tokens):
        raise fail(path, f"truncated: missing the {what}")
    try:
        return int(tokens[pos])
    except ValueError:
        raise fail(path, f"{what} {tokens[pos]!r} is not an integer") from None


def _motion(xyz: np.ndarray) -> float:
    present = ~np.isnan(xyz).any(axis=(1, 2))
    return float(sum(xyz[present, :, c].std() for c in range(3))) if present.any() else 0.0
