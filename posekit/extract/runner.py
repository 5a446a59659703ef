"""``posekit extract`` over many videos: resumable, in one process or in worker processes.

Each finished video is kept as a small part store in a work folder beside the output
(``.PROPOSALS.h5.parts/``), written atomically, so an interrupted run loses at most the videos in progress and
the next run with the same options skips the finished ones, after removing the parts the interrupted run was
writing. When every video is done, the proposals store is assembled from the parts (atomically) and the work folder
removed. A video that cannot be read is reported in one line and left out; the others go on.

Two runs on one output would share the work folder: ``posekit extract`` runs under posekit.locks.output_lock."""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import shutil
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from pathlib import Path

from ..errors import InputError, PosekitError
from ..layouts import get_layout
from ..outputs import check_file_path
from ..progress import progress_bar
from ..store import SkeletonStore, StoreWriter, atomic_path
from ..video import VideoReader
from .clips import extract_video
from .experts import DEFAULT_EXPERTS, ExpertSpec, build_expert, parse_experts
from .video import Video, find_videos, shard_videos

SETTINGS = "settings.json"


def work_folder(output: Path) -> Path:
    return output.parent / f".{output.name}.parts"


def part_path(work: Path, video: Video) -> Path:
    # Hashed: video ids hold folders and any character; the id itself is inside the part.
    return work / f"{hashlib.sha1(video.id.encode()).hexdigest()[:20]}.h5"


def extract(
    sources,
    output,
    *,
    experts=DEFAULT_EXPERTS,
    device: str = "cpu",
    max_persons: int | None = 2,
    workers: int = 1,
    layout="unik-17",
    max_frames: int | None = None,
    shard: tuple[int, int] | None = None,
    progress: bool = True,
    report=print,
) -> dict:
    """Extract pose proposals of ``sources`` (videos, images or folders) into the store ``output``; returns a
    summary.

    ``report(line)`` receives one line per folder of images, saying how its images are read, one saying which
    videos a shard takes, and one per video that failed. ``max_frames`` caps the frames per video. ``shard``
    (K, N): only the K-th of N slices of the videos found (:func:`posekit.extract.video.shard_videos`), for N jobs that
    extract a collection in parallel; a slice past the videos writes a store without clips."""
    output = check_file_path(output, InputError)
    found = find_videos(sources, report)
    videos = shard_videos(found, *shard) if shard else found
    if shard:
        report(f"shard {shard[0]}/{shard[1]}: {len(videos)} of the {len(found)} videos found")
    specs = parse_experts(list(experts))
    target = get_layout(layout)
    work = work_folder(output)
    settings = {
        "experts": [s.name for s in specs],
        "options": [s.options for s in specs],
        "layout": target.name,
        "max_persons": max_persons,
        "max_frames": max_frames,
        **({"shard": list(shard)} if shard else {}),  # a run of another shard may not finish this one
    }
    _prepare(work, settings)
    pending = [v for v in videos if not part_path(work, v).exists()]
    failed = {}
    if pending:
        job = (pending, specs, device, target, max_persons, max_frames, work, progress, report)
        failed = (
            _in_process(*job)
            if workers <= 1 or len(pending) == 1
            else _in_workers(*job, workers=min(workers, len(pending)))
        )
    done = [v for v in videos if part_path(work, v).exists()]
    if failed and not done:
        shutil.rmtree(work, ignore_errors=True)
        raise InputError(f"{output}: no video could be read ({len(failed)} failed); nothing written")
    provenance = {
        "step": "extract",
        "experts": [s.name for s in specs],
        "layout": target.name,
        "max_persons": max_persons,
        "device": device,
        "videos": len(done),
        "failed": [f"{v.path}: {m}" for v, m in failed.items()],
    }
    if shard:  # posekit store merge orders the shards by it and names the missing ones
        provenance["shard"] = {"index": shard[0], "count": shard[1], "videos": len(found)}
    with StoreWriter(
        output, target, coord_dims=2, coordinates="pixel", allow_empty=True, provenance=provenance, name=output.stem
    ) as writer:
        for video in done:
            with SkeletonStore(part_path(work, video)) as part:
                for clip in part:
                    writer.add(clip)
        clips = len(writer)
    shutil.rmtree(work, ignore_errors=True)
    return {
        "output": str(output),
        "videos": len(done),
        "resumed": len(videos) - len(pending),
        "clips": clips,
        "failed": {str(v.path): m for v, m in failed.items()},
        "experts": [s.name for s in specs],
        "layout": target.name,
        "found": len(found),
    }


def _prepare(work: Path, settings: dict) -> None:
    """Create the work folder, or check that the one left by an interrupted run used the same options."""
    path = work / SETTINGS
    if work.is_dir():
        for leftover in work.glob(".*.tmp"):  # parts (or settings) that a killed run was writing
            leftover.unlink()
        try:
            previous = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError):
            previous = None
        if previous != json.loads(json.dumps(settings)):
            raise InputError(
                f"{work}: left by an interrupted run with other options ({previous}); run again with "
                "those, or delete the folder to start over"
            )
        return
    work.mkdir(parents=True)
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(settings))


def _save(clips, path: Path, layout) -> None:
    with StoreWriter(path, layout, coord_dims=2, coordinates="pixel", allow_empty=True) as writer:
        for clip in clips:
            writer.add(clip)


def _frame_total(videos, max_frames) -> int:
    """Frames to do, from the videos' headers: what the progress bar's rate and ETA are computed against."""
    total = 0
    for video in videos:
        try:
            with VideoReader(video.path) as reader:
                total += min(reader.frame_count, max_frames or reader.frame_count)
        except InputError:
            pass  # reported when its turn comes
    return total


def _in_process(videos, specs, device, target, max_persons, max_frames, work, progress, report):
    experts = [build_expert(s, device) for s in specs]
    total = _frame_total(videos, max_frames)
    failed = {}
    try:
        with progress_bar(total=total, unit="frame", desc="extract", show=progress, dynamic_ncols=True) as bar:
            for video in videos:
                bar.set_postfix_str(video.id, refresh=False)
                error = _extract_to_part(
                    video, experts, target, max_persons, max_frames, part_path(work, video), bar.update
                )
                if error is not None:
                    failed[video] = error
                    report(f"skipped {error}")
    finally:
        for expert in experts:
            expert.close()
    return failed


# -- worker processes: each builds its experts once, then extracts whole videos ----------------------------------
_worker_experts = None


def _worker_start(specs: list[ExpertSpec], device: str):
    global _worker_experts
    os.environ.setdefault("OMP_NUM_THREADS", "1")  # the workers share the cores; set before any model loads
    _worker_experts = [build_expert(s, device) for s in specs]


def _worker_run(video, target, max_persons, max_frames, path, frames_done) -> str | None:
    """Extract one video into its part file; frame counts go to the ``frames_done`` queue as they are done."""
    return _extract_to_part(video, _worker_experts, target, max_persons, max_frames, path, frames_done.put)


def _extract_to_part(video, experts, target, max_persons, max_frames, path, on_frames) -> str | None:
    """Extract one video into its part file; the error's first line if it failed, else None."""
    try:
        clips = extract_video(video, experts, target, max_persons, on_frames=on_frames, max_frames=max_frames)
    except Exception as e:  # one bad video (or a model failing on it) must not stop the others
        return _first_line(e, video)
    _save(clips, path, target)
    return None


def _in_workers(videos, specs, device, target, max_persons, max_frames, work, progress, report, workers):
    total = _frame_total(videos, max_frames)
    failed = {}
    # spawn: model runtimes (mediapipe, onnxruntime, torch) are not fork-safe once loaded
    context = multiprocessing.get_context("spawn")
    with (
        context.Manager() as manager,
        ProcessPoolExecutor(workers, mp_context=context, initializer=_worker_start, initargs=(specs, device)) as pool,
        progress_bar(
            total=total, unit="frame", desc=f"extract ({workers} workers)", show=progress, dynamic_ncols=True
        ) as bar,
    ):
        frames_done = manager.Queue()
        jobs = {
            pool.submit(_worker_run, v, target, max_persons, max_frames, part_path(work, v), frames_done): v
            for v in videos
        }
        pending = set(jobs)
        while pending:
            finished, pending = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
            while not frames_done.empty():
                bar.update(frames_done.get())
            for job in finished:
                try:
                    problem = job.result()
                except PosekitError as e:  # a worker could not build its experts: every video would fail alike
                    raise PosekitError(str(e)) from None
                if problem:
                    failed[jobs[job]] = problem
                    report(f"skipped {problem}")
    return failed


def _first_line(error: Exception, video: Video) -> str:
    """``PATH: problem`` in one line; errors other than bad input name their type (they may be a model's bug)."""
    text = str(error).splitlines()[0] if str(error) else ""
    if not isinstance(error, InputError):
        text = f"{type(error).__name__}: {text}" if text else type(error).__name__
    return text if text.startswith(str(video.path)) else f"{video.path}: {text}"
