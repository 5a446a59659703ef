"""Frames per second of `posekit extract` with MediaPipe BlazePose on the CPU, per expert and for the default
three experts together, against a bare loop (OpenCV decode + mp.solutions.pose, nothing else) on the same frames;
then, per video, persons found per frame and frames/s of the single-person `blazepose` against `blazepose-multi`.

Runs on every video of ../shared/data/human_video (first --frames of each), in this one process, one thread.
Prints a markdown section. Usage: OMP_NUM_THREADS=1 .venv/bin/python tools/bench_extract.py [--frames 100]
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np

from posekit.extract import extract
from posekit.extract.experts import DEFAULT_EXPERTS, build_expert, parse_experts
from posekit.extract.video import find_videos, frame_batches
from posekit.store import SkeletonStore
from posekit.video import VideoReader

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "human_video"


def bare_loop(videos, frames: int) -> tuple[int, float]:
    """Frames decoded and run through a fresh mp Pose per video, and the seconds it took."""
    import cv2
    import mediapipe as mp

    done, start = 0, time.perf_counter()
    for video in videos:
        with mp.solutions.pose.Pose(static_image_mode=False, model_complexity=1) as pose:
            capture = cv2.VideoCapture(str(video.path))
            for _ in range(frames):
                ok, frame = capture.read()
                if not ok:
                    break
                pose.process(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
                done += 1
            capture.release()
    return done, time.perf_counter() - start


def timed_extract(videos, experts, frames: int, folder: Path) -> tuple[int, float, float]:
    """Frames per video summed, seconds, and the share of frames where the first expert found a person."""
    output = folder / f"{'-'.join(experts)}.h5"
    start = time.perf_counter()
    extract([v.path for v in videos], output, experts=experts, max_frames=frames, progress=False)
    seconds = time.perf_counter() - start
    with SkeletonStore(output) as store:
        clips = [store[i] for i, cid in enumerate(store.ids) if cid.endswith("@" + experts[0])]
    total = sum(c.num_frames for c in clips)
    found = sum(int((c.track_id >= 0).any(axis=1).sum()) for c in clips)
    return total, seconds, found / max(total, 1)


def persons_per_frame(video, name: str, frames: int) -> tuple[np.ndarray, float]:
    """Persons the expert ``name`` finds in each of the first ``frames`` frames (decoded beforehand), and its
    frames/s on them."""
    with VideoReader(video.path) as reader:
        images = []
        for _, batch in frame_batches(reader, 16):
            images += batch
            if len(images) >= frames:
                break
        image_size = reader.image_size
    images = images[:frames]
    expert = build_expert(parse_experts(name)[0])
    expert.start(video, image_size)
    start = time.perf_counter()
    counts = [
        len(p)
        for k in range(0, len(images), 16)
        for p in expert.predict(images[k : k + 16], np.arange(k, min(k + 16, len(images))))
    ]
    seconds = time.perf_counter() - start
    expert.close()
    return np.array(counts), len(images) / seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--frames", type=int, default=100, help="frames per video")
    args = parser.parse_args()
    videos = find_videos([args.data])
    sizes = []
    for video in videos:
        with VideoReader(video.path) as reader:
            sizes.append(f"{video.id} {reader.image_size[0]}x{reader.image_size[1]}")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        frames, seconds = bare_loop(videos, args.frames)
        bare = frames / seconds
        rows.append(("bare loop: cv2 decode + mp Pose (baseline)", 1, frames, seconds, bare, None))
        for expert in DEFAULT_EXPERTS:
            n, s, found = timed_extract(videos, [expert], args.frames, Path(tmp))
            rows.append((f"`posekit extract --experts {expert}`", 1, n, s, n / s, found))
        n, s, found = timed_extract(videos, list(DEFAULT_EXPERTS), args.frames, Path(tmp))
        rows.append((f"`posekit extract` (default: {', '.join(DEFAULT_EXPERTS)})", 3, n, s, n / s, found))
    print(
        f"## posekit extract: frames/s with BlazePose on the CPU\n\n"
        f"`OMP_NUM_THREADS=1 .venv/bin/python tools/bench_extract.py --frames {args.frames}`, "
        f"{datetime.date.today()}, {platform.machine()} CPU ({os.cpu_count()} cores, shared with other jobs), "
        f"one process. Videos: the {len(videos)} of `../shared/data/human_video` "
        f"({'; '.join(sizes)}), first {args.frames} frames of each.\n"
    )
    print(
        "| run | experts | video frames | seconds | video frames/s | expert-frames/s | vs bare loop | "
        "frames with a person |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, experts, n, s, fps, found in rows:
        ratio = (fps * experts) / bare
        print(
            f"| {name} | {experts} | {n} | {s:.1f} | {fps:.1f} | {fps * experts:.1f} | {ratio:.2f} | "
            + (f"{found:.0%} |" if found is not None else "- |")
        )
    print(
        "\nPersons per frame, one expert alone (no tracking, no --max-persons): frames with 0 / 1 / 2 / 3+ "
        "persons, and frames/s (decoding excluded).\n"
    )
    print(
        "| video | `blazepose` 0/1/2/3+ | `blazepose-multi` 0/1/2/3+ | `blazepose` frames/s | "
        "`blazepose-multi` frames/s | speed ratio |"
    )
    print("|---|---|---|---:|---:|---:|")
    for video in videos:
        (single, single_fps), (multi, multi_fps) = (
            persons_per_frame(video, name, args.frames) for name in ("blazepose", "blazepose-multi")
        )
        spread = ["/".join(str(int(n)) for n in np.bincount(np.minimum(c, 3), minlength=4)) for c in (single, multi)]
        print(
            f"| {video.id} | {spread[0]} | {spread[1]} | {single_fps:.1f} | {multi_fps:.1f} | "
            f"{multi_fps / single_fps:.2f} |"
        )


if __name__ == "__main__":
    main()
