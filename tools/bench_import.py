"""Time importing the real Penn Action and N-UCLA folders into stores (reader + StoreWriter).

    .venv/bin/python tools/bench_import.py [--data ../shared/data] [--out /tmp]

Prints one markdown table row per dataset: command, date, machine, clips, frames, seconds, clips/s, store size.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

from posekit.registry import IMPORTERS
from posekit.store import SkeletonStore, StoreWriter

DATASETS = {"penn-action": "actions/penn_action/labels", "nw-ucla": "actions/nw_ucla"}


def import_into_store(fmt: str, source: Path, out: Path) -> tuple[int, int]:
    dataset = IMPORTERS.get(fmt)([source])
    with StoreWriter(
        out,
        dataset.layout,
        coord_dims=dataset.coord_dims,
        classes=dataset.classes,
        coordinates=dataset.coordinates,
        name=dataset.name,
        provenance=dataset.provenance,
    ) as writer:
        for clip in dataset.clips:
            writer.add(clip)
    with SkeletonStore(out) as store:
        return len(store), store.num_frames


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
    parser.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()))
    args = parser.parse_args()
    command = " ".join([Path(sys.executable).name, *sys.argv])
    machine = f"{platform.platform()}, {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs"
    date = datetime.date.today().isoformat()
    print("| dataset | command | date | machine | clips | frames | seconds | clips/s | store MB |")
    print("|---|---|---|---|---|---|---|---|---|")
    for fmt, relative in DATASETS.items():
        out = args.out / f"bench_{fmt}.h5"
        start = time.perf_counter()
        clips, frames = import_into_store(fmt, args.data / relative, out)
        seconds = time.perf_counter() - start
        print(
            f"| {fmt} | `{command}` | {date} | {machine} | {clips} | {frames} | {seconds:.2f} | "
            f"{clips / seconds:.0f} | {out.stat().st_size / 1e6:.1f} |"
        )
        out.unlink()


if __name__ == "__main__":
    main()
