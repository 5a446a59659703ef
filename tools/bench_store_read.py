"""Random-access read benchmark: StoreDataset over a skeleton store against a pyskl-style pickle.

    python tools/bench_store_read.py                     # 100,000 and 10,000 clips, 1 and 4 workers, variants
    python tools/bench_store_read.py --clips 10000 --reads 2000 --no-variants   # a quick run

Writes synthetic stores and pickles under --dir (default /tmp/posekit_bench; reused when present), then runs each
measurement in a fresh process: open the dataset, read --warmup clips, then time --reads clips in random order
(with replacement) through a DataLoader (workers=0: in-process, no DataLoader). Memory is sampled every 0.2 s over
the main process and its workers: RSS summed (counts pages shared by forked workers once per process) and PSS
(shared pages split between the processes sharing them). Prints a markdown section.
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import pickle
import platform
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from posekit.data import StoreDataset, collate_clips
from posekit.sample import write_pyskl_pickle, write_synthetic_store
from posekit.store import StoreWriter

# The StoreWriter's own defaults: the main comparison measures the store as users get it.
_WRITER_DEFAULTS = inspect.signature(StoreWriter).parameters
DEFAULT_CHUNK = _WRITER_DEFAULTS["chunk_frames"].default
DEFAULT_COMPRESSION = _WRITER_DEFAULTS["compression"].default
VARIANTS = [
    (1024, "gzip"),
    (256, "gzip"),
    (128, "gzip"),
    (1024, "lzf"),
    (256, "lzf"),
    (128, "lzf"),
    (1024, None),
    (256, None),
]


# -- the baseline: pyskl loads the whole annotation list, then indexes it ------------------------------------
class PickleDataset(Dataset):
    def __init__(self, path):
        with open(path, "rb") as f:
            self.annotations = pickle.load(f)["annotations"]

    def __len__(self):
        return len(self.annotations)

    def __getitem__(self, i):
        a = self.annotations[i]
        x = a["keypoint"].transpose(1, 0, 2, 3)  # (M, T, V, C) -> (T, M, V, C), then the same output step
        return {
            "keypoints": torch.from_numpy(np.ascontiguousarray(x.transpose(3, 0, 2, 1))),
            "length": x.shape[0],
            "label": a["label"],
            "index": i,
            "id": a["frame_dir"],
        }


class EmptyDataset(Dataset):
    """No I/O, the same sample shape (T=100): the ceiling of the DataLoader itself on this machine."""

    def __init__(self, size):
        self.size = size

    def __len__(self):
        return self.size

    def __getitem__(self, i):
        return {"keypoints": torch.zeros(2, 100, 17, 2), "length": 100, "label": 0, "index": i, "id": f"clip{i:07d}"}


def cache_dataset_handles():
    """The reader change proposed in the report: SkeletonStore.frames keeps its h5py Dataset objects per process
    instead of looking up /frames/NAME three times per clip. Patched here only to measure it."""
    from posekit.store import reader

    handles = {}

    def frames(self, index, fields=("keypoints", "scores")):
        f = self.file
        key = (id(f), os.getpid())
        if key not in handles:
            handles[key] = {name: ds for name, ds in f["frames"].items()}
        g = handles[key]
        start = int(self.offsets[index])
        stop = start + int(self.lengths[index])
        return {name: g[name][start:stop] for name in fields if name in g}

    reader.SkeletonStore.frames = frames


# -- memory -------------------------------------------------------------------------------------------------
def _children(pid: int) -> list[int]:
    kids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                        kids.append(int(entry))
            except (OSError, IndexError, ValueError):  # the process ended meanwhile
                pass
    return kids


def _kb(path: str, key: str) -> int:
    try:
        with open(path) as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


class PeakMemory(threading.Thread):
    def __init__(self, interval=0.2):
        super().__init__(daemon=True)
        self.interval = interval
        self.rss_mb = self.pss_mb = 0.0
        self._stop_event = threading.Event()

    def sample(self):
        pids = [os.getpid()] + _children(os.getpid())
        rss = sum(_kb(f"/proc/{p}/status", "VmRSS") for p in pids)
        pss = sum(_kb(f"/proc/{p}/smaps_rollup", "Pss") for p in pids)
        self.rss_mb = max(self.rss_mb, rss / 1024)
        self.pss_mb = max(self.pss_mb, pss / 1024)

    def run(self):
        while not self._stop_event.wait(self.interval):
            self.sample()

    def stop(self):
        self._stop_event.set()
        self.join()
        self.sample()


# -- one measurement, in its own process --------------------------------------------------------------------
def measure(spec: dict) -> dict:
    if spec.get("reader") == "cached":
        cache_dataset_handles()
    baseline_mb = _kb("/proc/self/status", "VmRSS") / 1024
    t = time.perf_counter()
    ds = {"store": StoreDataset, "pickle": PickleDataset, "empty": EmptyDataset}[spec["kind"]](spec["path"])
    open_s = time.perf_counter() - t
    monitor = PeakMemory()
    monitor.start()
    warmup, reads, batch = spec["warmup"], spec["reads"], spec["batch_size"]
    order = np.random.default_rng(spec["seed"]).integers(0, len(ds), warmup + reads).tolist()
    if spec["workers"] == 0:
        samples = (ds[i] for i in order)
        if batch:
            samples = (collate_clips([ds[i] for i in order[k : k + batch]]) for k in range(0, len(order), batch))
    else:
        samples = iter(
            DataLoader(
                ds,
                batch_size=batch or None,
                sampler=order,
                num_workers=spec["workers"],
                collate_fn=collate_clips if batch else None,
                multiprocessing_context="fork",
            )
        )
    done, start = 0, None
    for item in samples:
        done += len(item["id"]) if batch else 1
        if start is None and done >= warmup:
            start, done = time.perf_counter(), 0
    elapsed = time.perf_counter() - start
    monitor.stop()
    return {
        "clips_per_s": done / elapsed,
        "open_s": open_s,
        "baseline_mb": baseline_mb,
        "rss_mb": monitor.rss_mb,
        "pss_mb": monitor.pss_mb,
        "main_hwm_mb": _kb("/proc/self/status", "VmHWM") / 1024,
    }


def run_measure(spec: dict) -> dict:
    out = subprocess.run([sys.executable, __file__, "--measure", json.dumps(spec)], capture_output=True, text=True)
    if out.returncode:
        raise RuntimeError(f"measurement {spec} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


# -- data ---------------------------------------------------------------------------------------------------
def timed(path: Path, make) -> tuple[Path, float, bool]:
    """Make ``path`` unless present; the generation time is kept beside it, so a reused file still reports it."""
    record = path.with_name(path.name + ".seconds")
    if path.is_file() and record.is_file():
        return path, float(record.read_text()), True
    t = time.perf_counter()
    make()
    seconds = time.perf_counter() - t
    record.write_text(f"{seconds:.2f}")
    return path, seconds, False


def store_path(
    folder: Path, clips: int, seed: int, chunk: int = DEFAULT_CHUNK, compression: str | None = DEFAULT_COMPRESSION
) -> Path:
    return folder / f"syn_{clips}_s{seed}_{compression or 'none'}{chunk}.h5"


def make_store(folder, clips, seed, chunk=DEFAULT_CHUNK, compression=DEFAULT_COMPRESSION):
    path = store_path(folder, clips, seed, chunk, compression)
    return timed(
        path,
        lambda: write_synthetic_store(path, clips, seed=seed, chunk_frames=chunk, compression=compression, reuse=False),
    )


def make_pickle(folder, clips, seed):
    path = folder / f"syn_{clips}_s{seed}.pkl"
    return timed(path, lambda: write_pyskl_pickle(path, clips, seed=seed))


# -- report -------------------------------------------------------------------------------------------------
def machine() -> str:
    import h5py

    cpu = next(
        (line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")),
        platform.processor(),
    )
    return (
        f"{platform.platform()}, {os.cpu_count()} CPUs ({cpu}), load average at start "
        f"{os.getloadavg()[0]:.1f}; Python {platform.python_version()}, torch {torch.__version__}, "
        f"h5py {h5py.__version__} (HDF5 {h5py.version.hdf5_version}), numpy {np.__version__}"
    )


def table(header: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dir", type=Path, default=Path("/tmp/posekit_bench"))
    p.add_argument("--clips", type=int, nargs="+", default=[100_000, 10_000])
    p.add_argument("--workers", type=int, nargs="+", default=[0, 1, 4])
    p.add_argument("--reads", type=int, default=5000)
    p.add_argument("--warmup", type=int, default=500)
    p.add_argument("--batch-size", type=int, default=32, help="also measure batches of this size (0: skip)")
    p.add_argument(
        "--variants-clips", type=int, default=10_000, help="store size for the chunking/compression variants"
    )
    p.add_argument("--no-variants", action="store_true")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--measure", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.measure:
        print(json.dumps(measure(json.loads(args.measure))))
        return

    args.dir.mkdir(parents=True, exist_ok=True)
    command = "python " + " ".join([Path(sys.argv[0]).as_posix()] + sys.argv[1:])
    out = [
        "## Store read benchmark",
        "",
        f"- command: `{command}`",
        f"- date: {datetime.now(timezone.utc).isoformat(timespec='seconds')}",
        f"- machine: {machine()}",
        f"- data: synthetic clips, T uniform 50..150 (mean 100), M=2, V=17, C=2 float32 + scores; store "
        f"{DEFAULT_COMPRESSION}, chunk_frames={DEFAULT_CHUNK} (StoreWriter defaults); files in {args.dir}, "
        f"OS page cache not dropped (files larger than "
        f"the free page cache are partly read from disk)",
        f"- {args.reads} timed random reads after {args.warmup} warm-up reads; DataLoader (fork) with "
        f"batch_size=None unless said; workers=0: in-process, no DataLoader",
        "",
    ]
    spec0 = dict(reads=args.reads, warmup=args.warmup, seed=args.seed, batch_size=0)

    files, rows, sizes = {}, [], []
    for clips in args.clips:
        files[clips] = {
            "store": make_store(args.dir, clips, args.seed),
            "pickle": make_pickle(args.dir, clips, args.seed),
        }
        st, pk = files[clips]["store"], files[clips]["pickle"]
        sizes.append(
            [
                f"{clips:,}",
                f"{st[0].stat().st_size / 1e6:.0f}",
                f"{pk[0].stat().st_size / 1e6:.0f}",
                f"{st[1]:.0f}",
                f"{pk[1]:.0f}",
            ]
        )
    out += [
        "### Files",
        "",
        table(["clips", "store MB", "pickle MB", "store write s", "pickle write s"], sizes),
        "",
        "Write times include generating the synthetic clips (about 0.25 ms a clip).",
        "",
    ]

    results = {}
    for clips in args.clips:
        for workers in args.workers:
            for kind in ("store", "pickle"):
                r = run_measure({**spec0, "kind": kind, "path": str(files[clips][kind][0]), "workers": workers})
                results[clips, workers, kind] = r
                print(f"[{clips} clips, {workers} workers, {kind}] {r}", file=sys.stderr, flush=True)
            s, k = results[clips, workers, "store"], results[clips, workers, "pickle"]
            rows.append(
                [
                    f"{clips:,}",
                    workers,
                    f"{s['clips_per_s']:.0f}",
                    f"{k['clips_per_s']:.0f}",
                    f"{s['clips_per_s'] / k['clips_per_s']:.2f}",
                    f"{s['open_s']:.2f}",
                    f"{k['open_s']:.1f}",
                    f"{s['pss_mb']:.0f} / {s['rss_mb']:.0f}",
                    f"{k['pss_mb']:.0f} / {k['rss_mb']:.0f}",
                    f"{k['pss_mb'] / s['pss_mb']:.1f}",
                ]
            )
    out += [
        "### StoreDataset vs pyskl pickle (random clips, batch_size=None)",
        "",
        table(
            [
                "clips",
                "workers",
                "store clips/s",
                "pickle clips/s",
                "store/pickle",
                "store open s",
                "pickle load s",
                "store peak MB PSS / RSS",
                "pickle peak MB PSS / RSS",
                "pickle/store PSS",
            ],
            rows,
        ),
        "",
        f"Peak memory is over the main process and its workers; a bare process with torch, h5py and posekit "
        f"imported is {results[args.clips[0], args.workers[0], 'store']['baseline_mb']:.0f} MB RSS.",
        "",
    ]

    if args.batch_size:
        brows = []
        for workers in [w for w in args.workers if w]:
            for kind in ("store", "pickle", "empty"):
                path = str(files[args.clips[0]][kind][0]) if kind != "empty" else args.clips[0]
                r = run_measure(
                    {**spec0, "kind": kind, "path": path, "workers": workers, "batch_size": args.batch_size}
                )
                e = run_measure({**spec0, "kind": kind, "path": path, "workers": workers}) if kind == "empty" else None
                print(f"[batch {args.batch_size}, {workers} workers, {kind}] {r}", file=sys.stderr, flush=True)
                brows.append([kind, workers, f"{r['clips_per_s']:.0f}", f"{e['clips_per_s']:.0f}" if e else "above"])
        out += [
            f"### Batches of {args.batch_size} (collate_clips in the workers), {args.clips[0]:,} clips; "
            f"'empty' = a dataset with no I/O (the DataLoader's own ceiling)",
            "",
            table(["dataset", "workers", f"clips/s, batch {args.batch_size}", "clips/s, batch_size=None"], brows),
            "",
        ]

    if not args.no_variants:
        vrows = []
        for chunk, compression in VARIANTS:
            path, seconds, _ = make_store(args.dir, args.variants_clips, args.seed, chunk, compression)
            spec = {**spec0, "kind": "store", "path": str(path)}
            plain = run_measure({**spec, "workers": 0})
            cached = run_measure({**spec, "workers": 0, "reader": "cached"})
            one = run_measure({**spec, "workers": 1, "reader": "cached", "batch_size": args.batch_size or 32})
            print(
                f"[variant {chunk} {compression}] {plain['clips_per_s']:.0f} {cached['clips_per_s']:.0f} "
                f"{one['clips_per_s']:.0f}",
                file=sys.stderr,
                flush=True,
            )
            vrows.append(
                [
                    chunk,
                    compression or "none",
                    f"{path.stat().st_size / 1e6:.0f}",
                    f"{seconds:.0f}",
                    f"{plain['clips_per_s']:.0f}",
                    f"{cached['clips_per_s']:.0f}",
                    f"{one['clips_per_s']:.0f}",
                ]
            )
        out += [
            f"### Store layout variants ({args.variants_clips:,} clips, StoreDataset random reads)",
            "",
            "'cached handles': SkeletonStore.frames patched to keep its h5py Dataset objects per process "
            "(see cache_dataset_handles in this script).",
            "",
            table(
                [
                    "chunk_frames",
                    "compression",
                    "file MB",
                    "write s",
                    "in-process clips/s",
                    "in-process, cached handles",
                    f"1 worker, batch {args.batch_size or 32}, cached handles",
                ],
                vrows,
            ),
            "",
        ]
    print("\n".join(out))


if __name__ == "__main__":
    main()
