"""SSTA-PRS self-training on rendered Penn Action skeletons: student vs SST-A vs the simulated experts (Table 3.1).

Images: each sampled frame of a Penn Action clip is rendered from its ground-truth 2D skeleton as a 128x128 crop
(limb-shaped strokes, left limbs bluish, right limbs reddish, torso filled, head a disc, on a random smooth
texture with pixel noise), the crop a square 1.2-1.5x the person's extent, randomly shifted. The three simulated
experts of tools/bench_ssta_penn.py estimate the clip (in the video's pixels, their errors relative to the person),
SST-A fuses them (the neck is the shoulders' midpoint, as there), and every pose is mapped into the crop.

Self-training: the training clips (Penn's train split) become a refined store (SST-A poses, C in the scores,
frame_index = the frame in the clip) plus an image folder; posekit.train.student.train_student pseudo-labels the
frames with C >= gamma and trains the student (RTMPose-t + anchor classes, from scratch: no pretrained weights
offline). Held out: frames of other clips (Penn's test split). Scored there, on the same frames: each expert,
SST-A, and the student, given the box of the SST-A pose grown by 10% (what a pipeline without ground truth has)
and, as a second row, the ground-truth box (the MPII PCKh protocol's person location). PCKh@0.5 as in
tools/bench_ssta_penn.py: 13 joints where visible, head length |head - neck|, a missing estimate counts wrong.

Usage (make the store first: posekit convert penn-action ../shared/data/actions/penn_action/labels -o /tmp/penn.h5):
    OMP_NUM_THREADS=1 .venv/bin/python tools/bench_self_training.py --store /tmp/penn.h5 --work-dir /tmp/ssta_prs
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # before torch: the machine is shared

import argparse  # noqa: E402
import datetime  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_ssta_penn import EXPERTS, HEAD, NECK, PENN, Score, with_neck  # noqa: E402

from pose_refine import GAMMA, sst_aggregate  # noqa: E402
from pose_refine.pseudo_labels import pseudo_box  # noqa: E402
from pose_refine.simulate import simulate_experts  # noqa: E402
from posekit.store import Clip, SkeletonStore, StoreWriter  # noqa: E402
from posekit.train.student import train_student  # noqa: E402

SIZE = 128
J = {name: PENN.index(name) for name in PENN.joints}
LEFT = [
    ("left_shoulder", "left_elbow"),
    ("left_elbow", "left_wrist"),
    ("left_hip", "left_knee"),
    ("left_knee", "left_ankle"),
]
RIGHT = [(a.replace("left", "right"), b.replace("left", "right")) for a, b in LEFT]
TORSO = ["left_shoulder", "right_shoulder", "right_hip", "left_hip"]


def crop_transform(truth, rng):
    """Scale and offset mapping the video's pixels to a SIZE x SIZE crop around the person, randomly framed."""
    low, high = np.nanmin(truth, axis=0), np.nanmax(truth, axis=0)
    side = max(high - low) * rng.uniform(1.2, 1.5) + 1e-6
    corner = (low + high) / 2 + rng.uniform(-0.08, 0.08, 2) * side - side / 2
    return SIZE / side, corner


def render(pose, rng):
    """A SIZE x SIZE BGR image of the (13, 2) skeleton ``pose`` (crop pixels)."""
    texture = cv2.resize(
        rng.uniform(40, 200, (6, 6, 3)).astype(np.float32), (SIZE, SIZE), interpolation=cv2.INTER_CUBIC
    )
    image = np.clip(texture + rng.normal(0, 8, texture.shape), 0, 255).astype(np.uint8)
    neck = pose[[J["left_shoulder"], J["right_shoulder"]]].mean(0)
    height = max(np.ptp(pose[:, 1]), np.ptp(pose[:, 0]), 8.0)
    width = max(2, int(round(0.07 * height)))
    shade = rng.uniform(0.7, 1.0)

    def colour(bgr):
        return tuple(int(c * shade) for c in bgr)

    def point(p):
        return tuple(int(round(v * 16)) for v in p)  # 4 fractional bits: sub-pixel strokes

    def stroke(a, b, bgr, thickness):
        cv2.line(image, point(a), point(b), colour(bgr), thickness, cv2.LINE_AA, shift=4)

    cv2.fillConvexPoly(
        image, np.array([point(pose[J[n]]) for n in TORSO], np.int32), colour((90, 200, 90)), cv2.LINE_AA, shift=4
    )
    stroke(pose[J["left_hip"]], pose[J["right_hip"]], (90, 200, 90), width)
    limbs = [(a, b, (230, 120, 40)) for a, b in LEFT] + [(a, b, (40, 90, 230)) for a, b in RIGHT]
    for k in rng.permutation(len(limbs)):  # no depth order: either side may cover the other
        a, b, bgr = limbs[k]
        stroke(pose[J[a]], pose[J[b]], bgr, width)
    stroke(neck, pose[J["head"]], (60, 200, 230), width)
    radius = 0.45 * float(np.hypot(*(pose[J["head"]] - neck))) + 1
    cv2.circle(image, point(pose[J["head"]]), int(radius * 16), colour((60, 200, 230)), -1, cv2.LINE_AA, shift=4)
    return cv2.GaussianBlur(image, (3, 3), 0.6)


def prepare(store, clips, stride, image_dir, seed, gamma, teacher="sst-a"):
    """Render the sampled frames of ``clips``; returns per-frame arrays in crop pixels and the refined clips, whose
    poses are the teacher's (SST-A; or, as controls, the ground truth or one expert) with SST-A's C."""
    rows = {k: [] for k in ("truth", "visible", "fused", "experts", "confidence", "image")}
    refined = []
    image_sizes = store.column("image_size")
    for clip in clips:
        data = store.frames(int(clip), ("keypoints", "scores"))
        truth, visible = data["keypoints"][:, 0].astype(float), data["scores"][:, 0] == 1
        rng = np.random.default_rng([seed, int(clip)])
        experts = simulate_experts(
            truth,
            list(EXPERTS.values()),
            joints=PENN.joints,
            visibility=visible,
            image_size=image_sizes[clip],
            seed=np.random.SeedSequence([seed, int(clip)]),
        )
        fused, confidence, _ = sst_aggregate(with_neck(experts), head=HEAD, neck=NECK, gamma=gamma)
        frames = [t for t in range(0, len(truth), stride) if not np.isnan(truth[t]).any()]
        clip_id = store.ids[clip]
        (image_dir / clip_id).mkdir(parents=True, exist_ok=True)
        crops = []
        for t in frames:
            scale, corner = crop_transform(truth[t], rng)
            crops.append(
                ((truth[t] - corner) * scale, (experts[:, t] - corner) * scale, (fused[t, :13] - corner) * scale)
            )
            path = image_dir / clip_id / f"{t:06d}.jpg"
            cv2.imwrite(str(path), render(crops[-1][0], rng), [cv2.IMWRITE_JPEG_QUALITY, 95])
            rows["image"].append(str(path))
        rows["truth"] += [c[0] for c in crops]
        rows["experts"] += [c[1] for c in crops]
        rows["fused"] += [c[2] for c in crops]
        rows["visible"].append(visible[frames])
        rows["confidence"].append(confidence[frames])
        poses = np.stack([teacher_poses(teacher, *crop) for crop in crops])
        refined.append(
            Clip(
                id=clip_id,
                keypoints=poses[:, None],
                scores=np.repeat(confidence[frames, None, None], 13, axis=2),
                frame_index=np.array(frames),
                image_size=(SIZE, SIZE),
                source=clip_id,
            )
        )
    arrays = {
        k: np.concatenate(v) if k in ("visible", "confidence") else np.stack(v) if k != "image" else v
        for k, v in rows.items()
    }
    return arrays, refined


def teacher_poses(teacher, truth, experts, fused):
    """The poses the student learns from; ``experts`` has the experts on axis -3."""
    if teacher in ("sst-a", "truth"):
        return fused if teacher == "sst-a" else truth
    return experts[..., int(teacher), :, :]


def teacher_name(teacher):
    return {"sst-a": "SST-A", "truth": "the ground truth"}.get(teacher) or list(EXPERTS)[int(teacher)]


def head_length(truth):
    return np.hypot(*(truth[:, HEAD] - with_neck(truth)[:, NECK]).T)


def predict(expert_json, images, boxes):
    from mmpose.apis import inference_topdown, init_model

    spec = json.loads(Path(expert_json).read_text())
    model = init_model(spec["config"], spec["checkpoint"], device="cpu")
    return np.stack(
        [
            inference_topdown(model, image, bboxes=box[None])[0].pred_instances.keypoints[0]
            for image, box in zip(images, boxes)
        ]
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", required=True, type=Path, help="Penn Action store (posekit convert penn-action)")
    parser.add_argument("--work-dir", required=True, type=Path)
    parser.add_argument("--train-clips", type=int, default=300)
    parser.add_argument("--test-clips", type=int, default=100)
    parser.add_argument("--train-stride", type=int, default=4, help="every n-th frame of a training clip")
    parser.add_argument("--test-stride", type=int, default=10)
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--anchors", type=int, default=20)
    parser.add_argument("--gamma", type=float, default=GAMMA)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--teacher",
        choices=["sst-a", "truth", "0", "1", "2"],
        default="sst-a",
        help="poses the student learns: SST-A's (SSTA-PRS); controls: the ground truth or expert K",
    )
    args = parser.parse_args()
    torch.set_num_threads(1)
    cv2.setNumThreads(1)
    args.work_dir.mkdir(parents=True, exist_ok=False)
    store = SkeletonStore(args.store)
    pick = np.random.default_rng(args.seed)
    train_clips = np.sort(pick.choice(store.split("train"), args.train_clips, replace=False))
    test_clips = np.sort(pick.choice(store.split("test"), args.test_clips, replace=False))

    started = time.perf_counter()
    train, refined = prepare(
        store, train_clips, args.train_stride, args.work_dir / "train_images", args.seed, args.gamma, args.teacher
    )
    test, _ = prepare(store, test_clips, args.test_stride, args.work_dir / "test_images", args.seed, args.gamma)
    with StoreWriter(
        args.work_dir / "refined.h5",
        layout=PENN,
        coord_dims=2,
        provenance={"step": "refine", "experts": "simulated (tools/bench_self_training.py)"},
    ) as writer:
        for clip in refined:
            writer.add(clip)
    rendered = time.perf_counter() - started

    started = time.perf_counter()
    result = train_student(
        args.work_dir / "refined.h5",
        args.work_dir / "student",
        gamma=args.gamma,
        anchors=args.anchors,
        epochs=args.epochs,
        images=args.work_dir / "train_images",
        seed=args.seed,
    )
    trained = time.perf_counter() - started
    started = time.perf_counter()
    sst_boxes = pseudo_box(test["fused"], image_size=(SIZE, SIZE))
    truth_boxes = pseudo_box(test["truth"], image_size=(SIZE, SIZE))
    student_sst_box = predict(result["expert"], test["image"], sst_boxes)
    student_truth_box = predict(result["expert"], test["image"], truth_boxes)
    inferred = time.perf_counter() - started

    lengths, truth, visible = head_length(test["truth"]), test["truth"], test["visible"]
    rows = {}
    for k, name in enumerate(EXPERTS):
        rows[name] = test["experts"][:, k]
    rows["SST-A"] = test["fused"]
    student = "**SSTA-PRS student**" if args.teacher == "sst-a" else f"student taught by {teacher_name(args.teacher)}"
    rows[f"{student}, box = SST-A pose + 10%"] = student_sst_box
    rows[f"{student}, box = ground-truth pose + 10% (MPII protocol)"] = student_truth_box
    scores = {}
    for name, estimate in rows.items():
        scores[name] = Score()
        scores[name].add(estimate, truth, visible, lengths)
    pseudo = Score()
    kept = train["confidence"] >= args.gamma
    pseudo.add(
        teacher_poses(args.teacher, train["truth"], train["experts"], train["fused"]),
        train["truth"],
        train["visible"],
        head_length(train["truth"]),
        frames=kept,
    )

    print("## SSTA-PRS self-training on rendered Penn Action skeletons (tools/bench_self_training.py)\n")
    print(
        f"- command: `OMP_NUM_THREADS=1 .venv/bin/python tools/bench_self_training.py --store /tmp/penn.h5 "
        f"--work-dir {args.work_dir} --train-clips {args.train_clips} --test-clips {args.test_clips} "
        f"--train-stride {args.train_stride} --test-stride {args.test_stride} --epochs {args.epochs} "
        f"--anchors {args.anchors} --gamma {args.gamma} --seed {args.seed} --teacher {args.teacher}`"
    )
    print(
        f"- date: {datetime.date.today()}; machine: {platform.machine()}, {os.cpu_count()} cores shared with other "
        f"jobs, 1 torch thread; torch {torch.__version__}; render {rendered:.0f} s, train {trained / 60:.1f} min, "
        f"student inference {inferred:.0f} s ({2 * len(truth) / inferred:.0f} crops/s)"
    )
    print(
        f"- train: {len(train_clips)} clips of Penn's train split, every {args.train_stride}th frame: "
        f"{len(kept)} frames, {int(kept.sum())} kept as pseudo labels (C >= {args.gamma}), poses from "
        f"{teacher_name(args.teacher)}: PCKh@0.5 {100 * pseudo.hits / pseudo.scored:.1f}%; {args.anchors} "
        f"anchors; {args.epochs} epochs"
    )
    print(
        f"- held out: {len(test_clips)} clips of Penn's test split, every {args.test_stride}th frame: "
        f"{len(truth)} frames; student final losses {json.dumps(result['final_losses'])}\n"
    )
    print("| poses (held-out frames) | PCKh@0.5 (%) | MPJPE / head length | missing joints (%) | x SST-A PCKh |")
    print("|---|---:|---:|---:|---:|")
    reference = scores["SST-A"].hits / scores["SST-A"].scored
    for name, score in scores.items():
        print(score.row(name, f"{score.hits / score.scored / reference:.2f}"))


if __name__ == "__main__":
    main()
