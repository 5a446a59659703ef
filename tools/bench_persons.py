"""Multi-person extraction on labelled images: persons found, OKS and PCK of each expert against the COCO keypoint
annotations of ../shared/data/human_images/mmpose_coco (4 COCO val2017 images, 12 persons with keypoints), and
frames per second; then, on the first --frames frames of the videos of ../shared/data/human_video, the frames
where an expert finds more or fewer persons than the video shows (counted by eye: VISIBLE_PERSONS).

Each image is a one-frame video (``start`` then ``predict``). An expert's landmarks become the 17 COCO joints
through the layouts registry; each image's predicted persons are matched to its annotated ones greedily, highest
OKS first (standard COCO OKS: the annotation's area, the COCO per-joint sigmas, its labelled joints). A person is
found when matched with OKS >= --min-oks; OKS and PCK are averaged over found persons; PCK@0.2 counts labelled
joints within 0.2 x the longer side of the annotated box. Predictions matched to no annotation are "extra" (some
are real people the annotators left unlabelled). frames/s: ``predict`` alone, after one untimed pass, over
--repeats passes, one thread (run with OMP_NUM_THREADS=1). Prints a markdown section.

Usage: OMP_NUM_THREADS=1 .venv/bin/python tools/bench_persons.py [--experts blazepose-multi,blazepose-detector]
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np

from posekit.extract.experts import build_expert, parse_experts
from posekit.extract.video import Video
from posekit.layouts import mapping

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "human_images" / "mmpose_coco"
# COCO keypoint sigmas (cocoapi's COCOeval.computeOks), in coco-17 joint order
COCO_SIGMAS = (
    np.array([0.26, 0.25, 0.25, 0.35, 0.35, 0.79, 0.79, 0.72, 0.72, 0.62, 0.62, 1.07, 1.07, 0.87, 0.87, 0.89, 0.89])
    / 10
)
PCK_THRESHOLD = 0.2
VIDEOS = DATA.parents[1] / "human_video"
VISIBLE_PERSONS = {  # persons in view in every one of the first frames, counted by eye
    "stgcn/clean_and_jerk.mp4": 1,
    "stgcn/skateboarding.mp4": 1,
    "stgcn/ta_chi.mp4": 1,
    "mmaction2/demo/demo_skeleton.mp4": 2,
    "mmaction2/demo/test_video_structuralize.mp4": 2,
}


def annotated_persons(folder: Path) -> list[tuple[Path, list[dict]]]:
    """(image path, its annotations with at least one labelled keypoint) per image of test_coco.json."""
    coco = json.loads((folder / "test_coco.json").read_text())
    persons = {image["id"]: [] for image in coco["images"]}
    for annotation in coco["annotations"]:
        if annotation["num_keypoints"] > 0:
            persons[annotation["image_id"]].append(annotation)
    return [(folder / image["file_name"], persons[image["id"]]) for image in coco["images"]]


def oks(predicted: np.ndarray, annotation: dict) -> float:
    """COCO object keypoint similarity of one predicted coco-17 pose (17, 2; NaN = missing) with an annotation."""
    truth = np.array(annotation["keypoints"], np.float64).reshape(17, 3)
    labelled = truth[:, 2] > 0
    squared = np.nan_to_num(((predicted - truth[:, :2]) ** 2).sum(axis=1), nan=np.inf)
    similarity = np.exp(-squared / (2 * annotation["area"] * (2 * COCO_SIGMAS) ** 2 + np.spacing(1)))
    return float(similarity[labelled].mean())


def pck(predicted: np.ndarray, annotation: dict) -> tuple[int, int]:
    """(correct, labelled) joints: within PCK_THRESHOLD x the annotated box's longer side."""
    truth = np.array(annotation["keypoints"], np.float64).reshape(17, 3)
    labelled = truth[:, 2] > 0
    distance = np.nan_to_num(np.linalg.norm(predicted - truth[:, :2], axis=1), nan=np.inf)
    correct = distance <= PCK_THRESHOLD * max(annotation["bbox"][2:])
    return int(correct[labelled].sum()), int(labelled.sum())


def greedy_match(similarity: np.ndarray, minimum: float) -> list[tuple[int, int]]:
    """(annotation, prediction) pairs, highest similarity first, each used once, similarity >= ``minimum``."""
    pairs, similarity = [], similarity.copy()
    while similarity.size and similarity.max() >= minimum:
        a, p = np.unravel_index(np.argmax(similarity), similarity.shape)
        pairs.append((int(a), int(p)))
        similarity[a, :], similarity[:, p] = -1, -1
    return pairs


def evaluate(name: str, images, min_oks: float, repeats: int) -> dict:
    import cv2

    expert = build_expert(parse_experts(name)[0])
    to_coco = mapping(expert.layout, "coco-17")
    frames = [cv2.imread(str(path)) for path, _ in images]
    try:
        seconds, predictions = 0.0, []
        for run in range(repeats + 1):  # the first pass untimed: models load and warm up on it
            predictions = []
            for (path, _), frame in zip(images, frames):
                expert.start(Video(path.stem, path), (frame.shape[1], frame.shape[0]))
                start = time.perf_counter()
                predictions.append(expert.predict([frame], np.arange(1))[0])
                seconds += (time.perf_counter() - start) if run else 0.0
    finally:
        expert.close()
    found, extra, similarities, correct, labelled = 0, 0, [], 0, 0
    for (_, truth), poses in zip(images, predictions):
        coco = to_coco.apply(poses.keypoints, axis=-2)
        matrix = np.array([[oks(p, a) for p in coco] for a in truth]).reshape(len(truth), len(coco))
        pairs = greedy_match(matrix, min_oks)
        found, extra = found + len(pairs), extra + len(coco) - len(pairs)
        for a, p in pairs:
            similarities.append(matrix[a, p])
            c, n = pck(coco[p], truth[a])
            correct, labelled = correct + c, labelled + n
    return {
        "expert": name,
        "found": found,
        "annotated": sum(len(a) for _, a in images),
        "extra": extra,
        "oks": float(np.mean(similarities)) if similarities else float("nan"),
        "pck": correct / labelled if labelled else float("nan"),
        "fps": repeats * len(images) / seconds,
    }


def count_persons(name: str, frames: int) -> dict:
    """Frames (of the first ``frames`` of each VISIBLE_PERSONS video) where ``name`` finds more or fewer persons
    than are in view, and frames/s over them."""
    from posekit.extract.video import frame_batches
    from posekit.video import VideoReader

    expert = build_expert(parse_experts(name)[0])
    total, too_many, too_few, seconds = 0, 0, 0, 0.0
    try:
        for relative, visible in VISIBLE_PERSONS.items():
            path = VIDEOS / relative
            with VideoReader(path) as reader:
                expert.start(Video(path.stem, path), reader.image_size)
                batch = next(frame_batches(reader, frames))[1]
            start = time.perf_counter()
            counts = np.array([len(p) for p in expert.predict(batch, np.arange(len(batch)))])
            seconds += time.perf_counter() - start
            total, too_many, too_few = (
                total + len(counts),
                too_many + (counts > visible).sum(),
                too_few + (counts < visible).sum(),
            )
    finally:
        expert.close()
    return {"expert": name, "frames": total, "too_many": int(too_many), "too_few": int(too_few), "fps": total / seconds}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--experts", default="blazepose-multi,blazepose-detector")
    parser.add_argument("--min-oks", type=float, default=0.5, help="OKS from which a match counts as found")
    parser.add_argument("--repeats", type=int, default=3, help="timed passes over the images")
    parser.add_argument("--frames", type=int, default=30, help="first frames of each video")
    args = parser.parse_args()
    if not (DATA / "test_coco.json").is_file():
        raise SystemExit(f"{DATA}: no COCO test images; this benchmark needs ../shared/data")
    images = annotated_persons(DATA)
    rows = [evaluate(name, images, args.min_oks, args.repeats) for name in args.experts.split(",")]
    print(f"| expert | persons found (OKS >= {args.min_oks:g}) | extra | OKS mean | PCK@0.2 (bbox) | frames/s |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['expert']} | {r['found']} / {r['annotated']} | {r['extra']} | {r['oks']:.3f} | {r['pck']:.3f} | "
            f"{r['fps']:.2f} |"
        )
    print(f"\n{len(images)} images, {platform.processor() or platform.machine()}, python {platform.python_version()}")
    if not all((VIDEOS / v).is_file() for v in VISIBLE_PERSONS):
        return
    print("\n| expert | video frames | more persons than in view | fewer | frames/s (videos) |\n|---|---|---|---|---|")
    for r in (count_persons(name, args.frames) for name in args.experts.split(",")):
        print(f"| {r['expert']} | {r['frames']} | {r['too_many']} | {r['too_few']} | {r['fps']:.2f} |")


if __name__ == "__main__":
    main()
