"""Whether converted skeletons fit their layout: warnings, never errors, for joints that may be in another order
than the layout's (a file without joint names taken in the layout's order on the user's word, a misnamed joint).

Three signs, measured over the whole import, each naming the joints it suspects:
- left and right bones of unequal length (median over clips): a joint of another limb in a left or right slot;
- in 3D, bones whose length changes over time (in 2D, foreshortening changes lengths anyway): two joints that
  are not neighbours;
- in metric coordinates of a layout that says which way is up, the head below the centre in most frames where
  the body is upright: the torso joints in another order, or a body upside down.
"""

from __future__ import annotations

import warnings

import numpy as np

from ..layouts import Layout

# Thresholds sit well clear of real skeletons in their own order: over N-UCLA's Kinect joints, left and right
# median lengths differ by 1.01x at most and the steadiest-to-least-steady bone spreads 0.04..0.13.
SYMMETRY_RATIO = 1.5  # longer / shorter median length of a left bone and its right twin
UNSTEADY_SPREAD = 0.25  # median absolute deviation of a bone's length over a clip, relative to its median
MIN_FRAMES = 10  # frames with a bone present before its spread over a clip counts
UPRIGHT_COSINE = 0.7  # a head-to-centre vector this close to vertical: an upright body
MIN_UPRIGHT_FRAMES = 10
LISTED = 4  # bones named per warning


class LayoutFit:
    """Feed it every converted clip's keypoints (``add``); ``warnings()`` then says where they do not fit."""

    def __init__(self, layout: Layout, coordinates: str):
        self.layout = layout
        self.bones = layout.bones
        self.twins = _left_right_twins(layout)
        self.up = layout.up_axis if coordinates == "metric" else None
        self._median_lengths: list[np.ndarray] = []  # per clip, (bones,)
        self._spreads: list[np.ndarray] = []  # per 3D clip, (bones,)
        self._upright = self._head_below = 0

    def add(self, keypoints: np.ndarray) -> None:
        """One clip's (T, M, V, C) keypoints in the layout's joint order."""
        if self.bones:
            lengths = _bone_lengths(keypoints, self.bones)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # a bone missing in the whole clip: NaN is right
                self._median_lengths.append(np.nanmedian(lengths.reshape(-1, len(self.bones)), axis=0))
                if keypoints.shape[-1] == 3:
                    self._spreads.append(_spread(lengths))
        if self.up is not None and self.layout.head and self.layout.centre:
            self._count_head_below(keypoints)

    def warnings(self) -> list[str]:
        """One line per sign of a misfit; empty when the data look like the layout."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            found = [self._asymmetric(), self._unsteady(), self._upside_down()]
        return [
            f"layout {self.layout.name!r} may not fit the data: {line}; are the joints in the layout's order?"
            for line in found
            if line
        ]

    def _asymmetric(self) -> str | None:
        if not self._median_lengths or not self.twins:
            return None
        length = np.nanmedian(np.stack(self._median_lengths), axis=0)
        ratios = [
            (max(length[a], length[b]) / min(length[a], length[b]), a, b)
            for a, b in self.twins
            if min(length[a], length[b]) > 0
        ]
        odd = sorted((r, a, b) for r, a, b in ratios if r > SYMMETRY_RATIO)[::-1]
        if not odd:
            return None
        named = ", ".join(f"{self._bone(a)} vs {self._bone(b)} {r:.1f}x" for r, a, b in odd[:LISTED])
        return f"left and right bones differ in length ({named})"

    def _unsteady(self) -> str | None:
        if not self._spreads:
            return None
        spread = np.nanmedian(np.stack(self._spreads), axis=0)
        odd = sorted((s, b) for b, s in enumerate(spread) if s > UNSTEADY_SPREAD)[::-1]
        if not odd:
            return None
        named = ", ".join(f"{self._bone(b)} by {s:.0%}" for s, b in odd[:LISTED])
        return f"bones change length over time ({named})"

    def _upside_down(self) -> str | None:
        if self._upright < MIN_UPRIGHT_FRAMES or self._head_below <= self._upright / 2:
            return None
        return (
            f"the head ({self.layout.head}) is below the centre ({self.layout.centre}) in "
            f"{self._head_below / self._upright:.0%} of upright frames (up is {self.layout.up})"
        )

    def _count_head_below(self, keypoints: np.ndarray) -> None:
        axis, sign = self.up
        head = keypoints[..., self.layout.index(self.layout.head), :]
        centre = keypoints[..., self.layout.index(self.layout.centre), :]
        rise = (head - centre)[..., axis] * sign
        with np.errstate(invalid="ignore"):
            upright = np.abs(rise) > UPRIGHT_COSINE * np.linalg.norm(head - centre, axis=-1)
        self._upright += int(upright.sum())
        self._head_below += int((upright & (rise < 0)).sum())

    def _bone(self, index: int) -> str:
        child, parent = self.bones[index]
        return f"{self.layout.joints[child]}-{self.layout.joints[parent]}"


def _bone_lengths(keypoints: np.ndarray, bones) -> np.ndarray:
    """(T, M, bones) distance from each joint to its parent; NaN where either is missing."""
    child, parent = np.array(bones).T
    return np.linalg.norm(keypoints[:, :, child] - keypoints[:, :, parent], axis=-1)


def _spread(lengths: np.ndarray) -> np.ndarray:
    """(bones,) median over persons of each bone's relative median absolute deviation over the clip's frames."""
    median = np.nanmedian(lengths, axis=0)  # (M, bones)
    spread = np.nanmedian(np.abs(lengths - median), axis=0) / median
    spread[(np.isfinite(lengths).sum(axis=0) < MIN_FRAMES) | (median <= 0)] = np.nan
    return np.nanmedian(spread, axis=0)


def _left_right_twins(layout: Layout) -> list[tuple[int, int]]:
    """(left bone, right bone) index pairs: bones whose joints' names differ only by left / right."""
    index = {(layout.joints[c], layout.joints[p]): b for b, (c, p) in enumerate(layout.bones)}
    twins = []
    for (child, parent), bone in index.items():
        mirrored = (_mirror(child), _mirror(parent))
        if "left" in child.lower() and mirrored in index and mirrored != (child, parent):
            twins.append((bone, index[mirrored]))
    return twins


def _mirror(name: str) -> str:
    for left, right in (("left", "right"), ("Left", "Right"), ("LEFT", "RIGHT")):
        if left in name:
            return name.replace(left, right)
    return name
