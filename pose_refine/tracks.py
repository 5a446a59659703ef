"""SST-A over all the tracked persons of one video: tracks fused in blocks, then ranked main first."""

from __future__ import annotations

import numpy as np

from pose_refine.ssta import Joint, sst_aggregate_batch

# Tracks x experts x frames x joints per SST-A call; each call is cut to the frames its tracks span, so the many
# short tracks of a long video do not each pay for the whole video.
BLOCK_ELEMENTS = 1 << 21


def refine_video(poses, *, head: Joint, neck: Joint, max_persons: int | None = None):
    """One video's tracks (P, E, T, V, 2), NaN where an expert lacks one -> (kept track indices into P, main
    first; fused (P', T, V, 2); confidence C (P', T))."""
    present = ~np.isnan(poses).all(axis=(1, 3, 4))  # (P, T): some expert has the track in the frame
    seen = np.flatnonzero(present.any(axis=1))  # a track id with no joint anywhere is no person
    fused, confidence = fuse_tracks(poses[seen], head=head, neck=neck)
    rank = main_tracks(confidence, present[seen])[:max_persons]
    return seen[rank], fused[rank], confidence[rank]


def fuse_tracks(poses, *, head: Joint, neck: Joint, block_elements: int = BLOCK_ELEMENTS):
    """SST-A of (P, E, T, V, 2) tracks in blocks of tracks, each block cut to the frames its tracks span."""
    n_tracks, n_experts, n_frames, n_joints = poses.shape[:4]
    fused = np.full((n_tracks, n_frames, n_joints, 2), np.nan, poses.dtype)
    confidence = np.full((n_tracks, n_frames), np.nan, poses.dtype)
    if not n_tracks * n_frames:  # nobody, or a video with no frames
        return fused, confidence
    present = ~np.isnan(poses).all(axis=(1, 3, 4))
    start = present.argmax(axis=1)
    stop = n_frames - present[:, ::-1].argmax(axis=1)
    per_block = max(1, block_elements // max(n_experts * n_frames * n_joints, 1))
    order = np.argsort(start, kind="stable")  # tracks that start together share a block: shorter spans
    for block in np.array_split(order, -(-n_tracks // per_block)):
        first, last = start[block].min(), stop[block].max()
        # Frames before and after a track hold no estimate: SST-A restarts after them anyway, so cutting is exact.
        fused[block, first:last], confidence[block, first:last], _ = sst_aggregate_batch(
            poses[block, :, first:last], head=head, neck=neck
        )
    return fused, confidence


def main_tracks(confidence, present):
    """Track order, main first: the largest summed confidence C (long, well-agreed tracks), then most frames."""
    return np.lexsort((-present.sum(axis=1), -np.nansum(confidence, axis=1)))
