"""Captions per second of the text encoders on one CPU thread, over a real store's captions.

    python tools/bench_text.py /tmp/penn.h5 --encoders minilm bow --repeats 3 -o /tmp/helperE_bench.md

The captions are the store's (``/clips/text``) or, for a store without, the template captions ``posekit text
caption`` would write (its default templates), every caption of every clip, repeats included: this measures the
encoder, not the de-duplication ``posekit text embed`` adds. torch runs on one thread (``torch.set_num_threads(1)``;
set OMP_NUM_THREADS=1 too). Loading the encoder is timed apart. Each encoder encodes the whole list ``--repeats``
times and the median is kept. Prints (and with ``-o`` writes) a markdown section.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
from pathlib import Path

import torch

from posekit.store import SkeletonStore
from posekit.text.captions import DEFAULT_TEMPLATES, class_captions
from posekit.text.encoders import get_encoder


def store_captions(path: Path) -> tuple[list[str], str]:
    """Every caption of every clip, and where they came from."""
    with SkeletonStore(path) as store:
        captions = [caption for clip in store.captions() for caption in clip]
        if captions:
            return captions, "the store's captions"
        per_class = [class_captions(n, d, DEFAULT_TEMPLATES) for n, d in zip(store.classes, store.class_descriptions)]
        captions = [caption for label in store.labels if label >= 0 for caption in per_class[label]]
        return captions, f"template captions ({'; '.join(DEFAULT_TEMPLATES)})"


def measure(spec: str, captions: list[str], repeats: int) -> dict:
    start = time.perf_counter()
    encoder = get_encoder(spec)
    load_s = time.perf_counter() - start
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        encoder.encode(captions)
        times.append(time.perf_counter() - start)
    return {"encoder": encoder, "load_s": load_s, "rate": len(captions) / statistics.median(times)}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("store", type=Path)
    p.add_argument("--encoders", nargs="+", default=["minilm", "bow"])
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("-o", "--output", type=Path, help="also write the markdown section here")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    captions, origin = store_captions(args.store)
    words = sum(len(caption.split()) for caption in captions) / len(captions)
    lines = [
        "## Text encoders (posekit text embed)",
        "",
        f"`OMP_NUM_THREADS=1 python tools/bench_text.py {args.store.name} --encoders {' '.join(args.encoders)} "
        f"--repeats {args.repeats}`",
        "",
        "| encoder | dim | captions/s (1 thread) | load (s) |",
        "| --- | --- | --- | --- |",
    ]
    for spec in args.encoders:
        result = measure(spec, captions, args.repeats)
        encoder = result["encoder"]
        lines.append(f"| {encoder.name} | {encoder.dim} | {result['rate']:.0f} | {result['load_s']:.2f} |")
    lines.append(
        f"\n{len(captions)} captions ({len(set(captions))} distinct, {words:.1f} words on average): {origin} of "
        f"{args.store.name}; median of {args.repeats}; torch {torch.__version__}, {platform.python_version()}, "
        f"{platform.processor() or platform.machine()}"
    )
    section = "\n".join(lines)
    print(section)
    if args.output:
        args.output.write_text(section + "\n")
        print(f"written to {args.output}")


if __name__ == "__main__":
    main()
