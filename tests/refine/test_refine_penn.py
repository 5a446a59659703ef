"""posekit refine on real Penn Action ground truth seen by simulated experts: the refined store is closer to it."""

import numpy as np

from pose_refine.simulate import ExpertErrors, simulate_experts
from posekit.importers.penn_action import read_clip
from posekit.layouts import get_layout, remap
from posekit.refine.store import refine_store
from posekit.store import Clip, SkeletonStore, StoreWriter
from tests.conftest import real_file

UNIK = get_layout("unik-17")
HEAD, NECK = UNIK.index(UNIK.head), UNIK.index(UNIK.neck)

EXPERTS = {
    "top-down": ExpertErrors(jitter=0.03, miss_person_rate=0.2, miss_person_run=5),
    "swapper": ExpertErrors(jitter=0.03, swap_rate=0.2),
    "bottom-up": ExpertErrors(jitter=0.03, drop_occluded=0.7, flicker_rate=0.1, flicker_scale=0.3),
}


def test_refine_recovers_penn_action_poses_from_simulated_experts(tmp_path):
    clips = [read_clip(real_file(f"actions/penn_action/labels/{name}.mat")) for name in ("0001", "0758")]
    truths, estimates = [], []
    with StoreWriter(tmp_path / "proposals.h5", "unik-17", coord_dims=2, allow_empty=True) as writer:
        for clip in clips:
            truth = clip.keypoints[:, 0].astype(float)
            experts = simulate_experts(
                truth,
                list(EXPERTS.values()),
                joints=get_layout("penn-13").joints,
                visibility=clip.scores[:, 0],
                seed=int(clip.id),
            )
            for name, estimate in zip(EXPERTS, experts):
                # Each expert's unik-17 neck is the mean of its own shoulders, as a real estimator's would be.
                writer.add(
                    Clip(
                        id=f"{clip.id}@{name}",
                        keypoints=remap(estimate, "penn-13", "unik-17")[:, None],
                        track_id=np.zeros((len(truth), 1), int),
                        image_size=clip.image_size,
                        fps=clip.fps,
                    )
                )
            truths.append(remap(truth, "penn-13", "unik-17"))
            estimates.append(remap(experts, "penn-13", "unik-17"))
    refine_store(tmp_path / "proposals.h5", tmp_path / "refined.h5", progress=False)
    refined = SkeletonStore(tmp_path / "refined.h5")
    fused = [refined[i].keypoints[:, 0] for i in range(len(clips))]
    head_length = [np.hypot(*(t[:, HEAD] - t[:, NECK]).T)[:, None] for t in truths]

    def pckh(poses):  # PCKh@0.5 over the 17 joints of both clips; a missing estimate is a miss
        hits = [np.hypot(*(p - t).transpose(2, 0, 1)) <= 0.5 * h for p, t, h in zip(poses, truths, head_length)]
        return np.concatenate([h.ravel() for h in hits]).mean()

    refined_pckh = pckh(fused)
    for e, name in enumerate(EXPERTS):
        assert refined_pckh > pckh([experts[e] for experts in estimates]) + 0.05, name
