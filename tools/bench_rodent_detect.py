"""Benchmark of ``posekit rodent detect`` on real videos: motion-only vs FCN_0 vs FCN_k (bootstrapping rounds)
against reference positions established without the detector, plus track continuity and throughput.

References (never seen by the detector):
- m3v1 (DeepLabCut open-field example, top view): offline background subtraction at 320 px on every frame,
  background = median of the whole video, high threshold (60 grey levels), tail removed by opening; frames
  whose blob area is off the median by 2x have no reference. Checked by eye on the contact sheet.
- vame (VAME sample, bottom view): DeepLabCut's predictions beside the video (machine predictions, not ground
  truth): body centre = mean of the 6 body parts with likelihood >= 0.9 (all 4 paws required).

A detection hits when its centre is within half a body length of the reference (body length: m3v1 the
reference blob's median length without tail; vame the median nose-tailroot distance); for m3v1 also box IoU,
for vame the heading (centre -> head) against DeepLabCut's tail root -> nose direction.
"Still" frames: the reference centre moves less than 1% of a body length per frame (over +-3 frames); "unseen":
frames not among the detector's training sample (every k-th frame).

    python tools/bench_rodent_detect.py --video m3v1 --out /tmp/bench_rodent
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import time
from pathlib import Path

import cv2
import numpy as np
import torch

from posekit.rodent.detection.blobs import clean, components
from posekit.rodent.detection.detect import detect_clip, fit_detector, sample
from posekit.rodent.detection.frames import open_source
from posekit.rodent.detection.motion import motion_labels
from posekit.video import VideoReader

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "animal"
VIDEOS = {
    "m3v1": DATA / "dlc_openfield" / "videos" / "m3v1mp4.mp4",
    "vame": DATA / "vame_sample" / "tests_project_sample_data__cropped_video.mp4",
}


def reference_m3v1(path: Path) -> dict:
    """Centre, box and length of the mouse in every frame by full-video median background subtraction."""
    with VideoReader(path) as reader:
        frames = [
            cv2.resize(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY), (320, 240), interpolation=cv2.INTER_AREA)
            for _, frame in reader.frames()
        ]
    frames = np.stack(frames).astype(np.float32)
    bg = np.median(frames, axis=0)
    centres = np.full((len(frames), 2), np.nan)
    boxes = np.full((len(frames), 4), np.nan)
    lengths = np.full(len(frames), np.nan)
    for t, frame in enumerate(frames):
        blobs = components(clean(np.abs(frame - bg) > 60, radius=3), min_area=30)
        if blobs:
            b = blobs[0]
            centres[t], boxes[t], lengths[t] = (b.centre + 0.5) * 2 - 0.5, (b.box + 0.5) * 2 - 0.5, b.length * 2
    area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    typical = np.nanmedian(area)
    odd = ~((area >= typical / 2) & (area <= typical * 2))
    centres[odd], boxes[odd] = np.nan, np.nan
    return {"centres": centres, "boxes": boxes, "body_length": float(np.nanmedian(lengths))}


def reference_vame(path: Path, frames: int) -> dict:
    rows = list(csv.reader(path.with_suffix(".csv").open()))
    parts = rows[1][1:]
    data = np.array([[float(v) for v in row[1:]] for row in rows[3 : 3 + frames]])
    xy = np.stack([data[:, 0::3], data[:, 1::3]], -1)  # (T, 6, 2)
    good = data[:, 2::3] >= 0.9
    paws = [i for i, p in enumerate(parts[::3]) if "hand" in p]
    centres = np.where(good[:, paws].all(1)[:, None], np.nanmean(np.where(good[..., None], xy, np.nan), axis=1), np.nan)
    nose, tail = parts[::3].index("Nose"), parts[::3].index("Tailroot")
    both = good[:, nose] & good[:, tail]
    length = float(np.median(np.linalg.norm(xy[both, nose] - xy[both, tail], axis=1)))
    heading = np.where(both[:, None], xy[:, nose] - xy[:, tail], np.nan)
    return {"centres": centres, "boxes": None, "body_length": length, "heading": heading}


def iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    w = np.clip(np.minimum(a[:, 2], b[:, 2]) - np.maximum(a[:, 0], b[:, 0]), 0, None)
    h = np.clip(np.minimum(a[:, 3], b[:, 3]) - np.maximum(a[:, 1], b[:, 1]), 0, None)
    union = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1]) + (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1]) - w * h
    return w * h / union


def still_frames(centres: np.ndarray, length: float) -> np.ndarray:
    t = np.arange(len(centres))
    a, b = np.clip(t - 3, 0, len(t) - 1), np.clip(t + 3, 0, len(t) - 1)
    speed = np.linalg.norm(centres[b] - centres[a], axis=1) / np.maximum(b - a, 1) / length
    return speed < 0.01  # NaN (no reference) compares False


def score(centres, boxes, ref, subsets) -> dict:
    """Hit rates (centre within half a body length; box IoU >= 0.5 where the reference has boxes) per subset."""
    length = ref["body_length"]
    error = np.linalg.norm(centres - ref["centres"], axis=1) / length  # NaN where either is missing
    has_ref = ~np.isnan(ref["centres"]).any(1)
    out = {}
    for name, subset in subsets.items():
        frames = subset & has_ref
        n = int(frames.sum())
        hit = np.nan_to_num(error[frames], nan=np.inf) < 0.5
        row = {
            "frames": n,
            "hit": float(hit.mean()) if n else math.nan,
            "median_error_bl": float(np.nanmedian(error[frames]))
            if n and np.isfinite(error[frames]).any()
            else math.nan,
        }
        if ref["boxes"] is not None and boxes is not None:
            overlap = np.nan_to_num(iou(boxes[frames], ref["boxes"][frames]), nan=0.0)
            row["iou50"] = float((overlap >= 0.5).mean()) if n else math.nan
        out[name] = row
    return out


def heading_error(heading: np.ndarray, ref: dict) -> dict:
    """Angle between the detected centre -> head direction and the reference's tail root -> nose direction."""
    if "heading" not in ref:
        return {}
    a, b = heading, ref["heading"]
    both = ~(np.isnan(a).any(1) | np.isnan(b).any(1))
    cos = (a[both] * b[both]).sum(1) / (np.linalg.norm(a[both], axis=1) * np.linalg.norm(b[both], axis=1))
    angle = np.degrees(np.arccos(np.clip(cos, -1, 1)))
    return {
        "heading_frames": int(both.sum()),
        "heading_median_deg": float(np.median(angle)),
        "heading_within_45": float((angle <= 45).mean()),
        "heading_within_90": float((angle < 90).mean()),
    }


def continuity(centres: np.ndarray, length: float) -> dict:
    found = ~np.isnan(centres).any(1)
    gaps, run = [], 0
    for f in found:
        run = 0 if f else run + 1
        gaps.append(run)
    index = np.flatnonzero(found)
    steps = np.linalg.norm(np.diff(centres[index], axis=0), axis=1) / length
    return {
        "detected": float(found.mean()),
        "longest_gap": int(max(gaps, default=0)),
        "jumps_over_1bl": int((steps > 1).sum()),
    }


def contact_sheet(path: Path, video: Path, frames: list[int], ref, methods: dict, out: Path, width: int = 320):
    with VideoReader(video) as reader:
        images = dict(reader.read(frames))
    tiles = []
    colours = {"reference": (0, 200, 0), "motion": (255, 128, 0), "final": (0, 0, 255)}
    for t in frames:
        scale = width / images[t].shape[1]
        image = cv2.resize(images[t], (width, round(images[t].shape[0] * scale)))  # a new image: drawn on below
        for name, centres, boxes in [("reference", ref["centres"], ref["boxes"])] + [
            (k, v["centres"], v["boxes"]) for k, v in methods.items()
        ]:
            if not np.isnan(centres[t]).any():
                c = tuple(int(v) for v in centres[t] * scale)
                cv2.circle(image, c, 4 if name == "reference" else 3, colours[name], -1 if name != "final" else 1)
                if boxes is not None and not np.isnan(boxes[t]).any():
                    x1, y1, x2, y2 = (boxes[t] * scale).astype(int)
                    cv2.rectangle(image, (x1, y1), (x2, y2), colours[name], 1)
        cv2.putText(image, str(t), (4, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 255, 255), 1)
        tiles.append(image)
    rows = [cv2.hconcat(tiles[i : i + 4]) for i in range(0, len(tiles) - len(tiles) % 4, 4)]
    cv2.imwrite(str(out / f"{path}_contact_sheet.png"), cv2.vconcat(rows))


def run(name: str, rounds: int, iters: int, out: Path) -> dict:
    torch.set_num_threads(1)
    cv2.setNumThreads(1)
    video = VIDEOS[name]
    source = open_source(video)
    started = time.perf_counter()
    ref = reference_m3v1(video) if name == "m3v1" else reference_vame(video, source.num_frames)
    reference_s = time.perf_counter() - started
    n = len(ref["centres"])
    letterbox = source.letterbox(160)

    started = time.perf_counter()
    frames, speeds = sample(source, 160, n)  # every frame: the motion-only detector
    labels = motion_labels(frames, speeds)
    motion_s = time.perf_counter() - started
    motion = {"centres": np.full((n, 2), np.nan), "boxes": np.full((n, 4), np.nan)}
    for t, blobs in enumerate(labels[:n]):
        if blobs:
            motion["centres"][t] = letterbox.to_source(blobs[0].centre)
            motion["boxes"][t] = letterbox.to_source(blobs[0].box)

    step = max(1, math.ceil(source.num_frames / 400))
    trained_on = np.arange(n) % step == 0
    still = still_frames(ref["centres"], ref["body_length"])
    subsets = {
        "all": np.ones(n, bool),
        "unseen": ~trained_on,
        "unseen_still": ~trained_on & still,
        "no_motion_label": np.isnan(motion["centres"]).any(1),
    }
    results = {
        "motion": {
            **score(motion["centres"], motion["boxes"], ref, subsets),
            **continuity(motion["centres"], ref["body_length"]),
        }
    }
    tracks, timing = {}, {"reference_s": reference_s, "motion_frames_per_s": n / motion_s}

    def evaluate(k, detector):
        started = time.perf_counter()
        clip = detect_clip(detector, source, name)
        timing[f"FCN_{k}_detect_frames_per_s"] = clip.num_frames / (time.perf_counter() - started)
        centres, boxes = clip.keypoints[:n, 0, 0].astype(float), clip.box[:n, 0].astype(float)
        tracks[k] = {"centres": centres, "boxes": boxes}
        np.save(out / f"{name}_FCN_{k}.npy", np.concatenate([centres, boxes, clip.scores[:n, 0, :1]], 1))
        heading = clip.keypoints[:n, 0, 1].astype(float) - centres
        results[f"FCN_{k}"] = {
            **score(centres, boxes, ref, subsets),
            **continuity(centres, ref["body_length"]),
            **heading_error(heading, ref),
        }
        print(name, f"FCN_{k}", json.dumps(results[f"FCN_{k}"]), flush=True)

    started = time.perf_counter()
    detector = fit_detector([source], rounds=rounds, iters=iters, after_round=evaluate)
    timing["fit_and_evaluate_s"] = time.perf_counter() - started
    sheet = np.linspace(0, n - 1, 8).astype(int).tolist()
    still_unseen = np.flatnonzero(subsets["unseen_still"])
    sheet += still_unseen[np.linspace(0, len(still_unseen) - 1, 8).astype(int)].tolist() if len(still_unseen) else []
    contact_sheet(name, video, sheet, ref, {"motion": motion, "final": tracks[rounds]}, out)
    summary = {
        "video": str(video),
        "frames": n,
        "body_length_px": ref["body_length"],
        "rounds": rounds,
        "iters": iters,
        "train_step": step,
        "labels_per_round": detector.meta["labels_per_round"],
        "still_frames": int(still.sum()),
        "results": results,
        "timing": timing,
    }
    (out / f"{name}.json").write_text(json.dumps(summary, indent=1))
    return summary


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--video", choices=sorted(VIDEOS), required=True)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--iters", type=int, default=300)
    parser.add_argument("--out", type=Path, default=Path("/tmp/bench_rodent_detect"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    summary = run(args.video, args.rounds, args.iters, args.out)
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
