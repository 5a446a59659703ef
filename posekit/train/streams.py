"""``posekit train MODEL --streams joint,bone,...``: one model per input stream, each in ``DIR/<stream>/``, and their
test scores fused into ``DIR/metrics.json`` and ``DIR/scores.pkl``, as pyskl and CTR-GCN ensemble four streams.

Resumable: a stream whose ``metrics.json`` exists is not trained again, and one that stopped part-way continues
from its last checkpoint."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from mmengine.dist import barrier, is_main_process

from ..errors import PosekitError
from .fusion import fuse
from .overrides import write_metrics

# pyskl's four-stream fusion weights (joint : bone : joint motion : bone motion = 2 : 2 : 1 : 1); with joint + bone
# alone the fusion is the plain mean.
STREAM_WEIGHTS = {"joint": 2.0, "bone": 2.0, "joint-motion": 1.0, "bone-motion": 1.0}


def parse_streams(text: str) -> list[str]:
    """``joint,bone``: the streams named, each once, in the order given."""
    streams = [s.strip() for s in text.split(",") if s.strip()]
    unknown = [s for s in streams if s not in STREAM_WEIGHTS]
    if unknown or not streams:
        raise PosekitError(f"--streams {text!r}: use a comma-separated list of {', '.join(STREAM_WEIGHTS)}")
    if len(set(streams)) != len(streams):
        raise PosekitError(f"--streams {text!r} names a stream twice")
    return streams


def parse_weights(text: str | None, streams: list[str]) -> list[float]:
    """``--weights 2,2,1,1``, one per stream; by default pyskl's weight of each stream."""
    if text is None:
        return [STREAM_WEIGHTS[s] for s in streams]
    try:
        weights = [float(w) for w in text.split(",")]
    except ValueError:
        raise PosekitError(f"--weights {text!r}: give comma-separated numbers, one per stream") from None
    if len(weights) != len(streams):
        raise PosekitError(f"--weights {text!r}: {len(weights)} weights for {len(streams)} streams")
    return weights


def train_streams(
    train_one: Callable[[str, Path, bool], dict], streams: list[str], work_dir: Path, weights: list[float]
) -> dict:
    """``train_one(stream, stream_dir, resume)`` for each stream not yet finished, then the fusion of their test
    scores; ``metrics.json`` of the fusion holds each stream's figures too. What was skipped is listed."""
    results, skipped = {}, []
    for stream in streams:
        stream_dir = work_dir / stream
        finished = stream_dir / "metrics.json"
        if finished.is_file():
            results[stream] = json.loads(finished.read_text())
            skipped.append(stream)
            continue
        results[stream] = train_one(stream, stream_dir, (stream_dir / "last_checkpoint").is_file())
        # under DDP rank 0 writes the stream's scores and metrics: the other ranks wait for them before going on
        barrier()
    output = work_dir / "scores.pkl" if is_main_process() else None
    fused = fuse([work_dir / s / "scores.pkl" for s in streams], output, weights)
    summary = {
        "streams": {s: {k: results[s].get(k) for k in ("top1", "top5", "mean_class_acc", "epochs")} for s in streams},
        "weights": dict(zip(streams, weights)),
        "skipped": skipped,
        **{k: v for k, v in fused.items() if k not in ("dropped", "each")},
    }
    write_metrics(work_dir, summary)
    return summary
