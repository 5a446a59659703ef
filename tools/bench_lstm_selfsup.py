"""Retrieval quality of LSTM self-supervised embeddings on rendered animal videos whose behaviour is known.

    OMP_NUM_THREADS=1 .venv/bin/python tools/bench_lstm_selfsup.py [--out /tmp/bench_lstm_selfsup] [--epochs 6]

A top-view "animal" (body ellipse, head, tail, on a textured floor) is rendered in bouts of three behaviours:
walking (moves along its heading with a lateral gait sway), rearing-like (stays, the body shortens and widens and
brightens in a slow cycle, as a rat rising towards a top camera) and grooming-like (stays, body contracted, the
head wiggles fast). Each bout has its own animal (size, brightness), heading and place. The bouts go into one
video and a tracks store (one clip per bout, boxes from the rendered shape with detector-like jitter), split into
training bouts and test bouts with other animals. The CNN-LSTM is trained on the training bouts exactly as
``posekit train lstm-selfsup`` does (no labels), then every 8-frame window of the test bouts is embedded and
ranked by cosine similarity against the others, never against windows of its own bout: precision@10 and mAP of
the behaviour label, against the same network untrained (random init), raw pixels and raw keypoints.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import torch

from posekit import checkpoints
from posekit.layouts import Layout
from posekit.registry import MODELS
from posekit.rodent.selfsup.crops import store_tracks
from posekit.rodent.selfsup.retrieval import mean_average_precision, precision_at_k
from posekit.store import Clip, StoreWriter
from posekit.train import lstm_selfsup, sequence_pairs
from posekit.train.overrides import config_path
from posekit.train.sequence_order import SequenceOrderModel

BEHAVIOURS = ("walking", "rearing", "grooming")
LAYOUT = Layout(
    name="blob-3",
    joints=("head", "centre", "tail"),
    parents={"head": "centre", "tail": "centre"},
    centre="centre",
    head="head",
)
ARENA = 160


def floor(rng) -> np.ndarray:
    """A static textured floor: blurred noise, darker towards the corners."""
    texture = cv2.GaussianBlur(rng.normal(0, 1, (ARENA, ARENA)), (0, 0), 3)
    texture = 80 + 25 * texture / texture.std()
    y, x = np.mgrid[:ARENA, :ARENA] / ARENA - 0.5
    return texture - 40 * (x**2 + y**2)


def render_bout(behaviour: str, frames: int, rng, background: np.ndarray):
    """(frames, H, W) uint8 grey images, (frames, 4) boxes and (frames, 3, 2) keypoints of one bout."""
    length, width = rng.uniform(26, 34), rng.uniform(11, 14)
    brightness = rng.uniform(170, 230)
    heading = rng.uniform(-np.pi, np.pi)
    centre = rng.uniform(45, ARENA - 45, size=2)
    phase = rng.uniform(0, 2 * np.pi)
    images, boxes, keypoints = [], [], []
    for t in range(frames):
        stretch, widen, sway, shine = 1.0, 1.0, 0.0, 0.0
        if behaviour == "walking":
            heading += rng.normal(0, 0.04)
            step = 2.2 * np.array([np.cos(heading), np.sin(heading)])
            if not (25 < centre + step).all() or not (centre + step < ARENA - 25).all():
                heading += np.pi / 2  # turn away from the wall
                step = 2.2 * np.array([np.cos(heading), np.sin(heading)])
            centre = centre + step
            sway = 4.0 * np.sin(2 * np.pi * 0.16 * t + phase)
            stretch = 1 + 0.06 * np.sin(2 * np.pi * 0.32 * t + phase)
        elif behaviour == "rearing":
            rise = (1 - np.cos(2 * np.pi * t / 24 + phase)) / 2
            stretch, widen, shine = 1 - 0.4 * rise, 1 + 0.35 * rise, 25 * rise
        else:  # grooming
            stretch, widen = 0.8, 1.1
            sway = 3.0 * np.sin(2 * np.pi * t / 4.5 + phase)
        image = background.copy()
        forward = np.array([np.cos(heading), np.sin(heading)])
        side = np.array([-forward[1], forward[0]])
        half = length * stretch / 2
        head = centre + forward * (half + 4) + side * sway
        tail_base = centre - forward * half
        tail_tip = tail_base - forward * length * 0.7 + side * 0.5 * sway
        shade = brightness + shine
        cv2.line(image, _pt(tail_base), _pt(tail_tip), shade * 0.8, 2, cv2.LINE_AA)
        cv2.ellipse(image, (_pt(centre), (2 * half, width * widen), np.degrees(heading)), shade, -1, cv2.LINE_AA)
        cv2.ellipse(image, (_pt(head), (10 * stretch**0.5, 8), np.degrees(heading)), shade * 0.95, -1, cv2.LINE_AA)
        image = image + rng.normal(0, 4, image.shape)  # sensor noise
        images.append(np.clip(image, 0, 255).astype(np.uint8))
        points = np.array([head, centre, tail_base])
        extent = np.concatenate([points.min(0) - width * widen / 2, points.max(0) + width * widen / 2])
        boxes.append(extent + rng.normal(0, 1.5, 4))  # a detector's box jitters
        keypoints.append(points)
    return np.stack(images), np.stack(boxes), np.stack(keypoints)


def _pt(xy) -> tuple[int, int]:
    return int(round(xy[0])), int(round(xy[1]))


def build(out: Path, bouts_per_class: int, frames: int, seed: int, name: str) -> tuple[Path, list[int]]:
    """A video of bouts (one MJPG file) and its tracks store; returns the store and the bouts' labels."""
    rng = np.random.default_rng(seed)
    background = floor(rng)
    labels = list(rng.permutation(np.repeat(np.arange(len(BEHAVIOURS)), bouts_per_class)))
    video = out / f"{name}.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 25, (ARENA, ARENA))
    store = out / f"{name}.h5"
    with StoreWriter(store, LAYOUT, coord_dims=2, classes=list(BEHAVIOURS), provenance={"step": "bench render"}) as w:
        for bout, label in enumerate(labels):
            images, boxes, keypoints = render_bout(BEHAVIOURS[label], frames, rng, background)
            for image in images:
                writer.write(cv2.cvtColor(image, cv2.COLOR_GRAY2BGR))
            w.add(
                Clip(
                    id=f"{name}_{bout:03d}",
                    keypoints=keypoints[:, None].astype(np.float32),
                    box=boxes[:, None].astype(np.float32),
                    frame_index=np.arange(frames) + bout * frames,
                    label=int(label),
                    fps=25.0,
                    source=video.name,
                    image_size=(ARENA, ARENA),
                )
            )
    writer.release()
    return store, labels


def raw_windows(values: np.ndarray, starts: np.ndarray, length: int) -> np.ndarray:
    """Each window's frames flattened and centred on the mean over all windows (cosine needs a centred space)."""
    windows = values[starts[:, None] + np.arange(length)].reshape(len(starts), -1).astype(np.float64)
    return windows - windows.mean(0)


def scores(features: np.ndarray, labels: np.ndarray, groups: np.ndarray, k: int) -> dict:
    return {
        "p_at_k": precision_at_k(features, labels, k, groups),
        "map": mean_average_precision(features, labels, groups),
    }


@torch.no_grad()
def order_accuracy(net, crops: dict, starts: np.ndarray, length: int, seed: int) -> float:
    """Real-vs-permuted accuracy of a network on test windows (each window once real, once permuted)."""
    generator = torch.Generator().manual_seed(seed)
    net.eval()
    right = total = 0
    for begin in range(0, len(starts), 64):
        items = []
        for start in starts[begin : begin + 64]:
            real = torch.from_numpy(crops["crops"][start : start + length])
            items.append({"real": real, "permuted": real[sequence_pairs.non_identity_permutation(length, generator)]})
        batch = sequence_pairs.collate_pairs(items)
        logits = net(SequenceOrderModel.scale(batch["crops"]))
        right += int((logits.argmax(1) == batch["label"]).sum())
        total += len(batch["label"])
    return right / total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("/tmp/bench_lstm_selfsup"))
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--train-bouts", type=int, default=60, help="training bouts per behaviour")
    parser.add_argument("--test-bouts", type=int, default=15, help="test bouts per behaviour")
    parser.add_argument("--frames", type=int, default=32, help="frames per bout")
    parser.add_argument("--crop-size", type=int, default=32)
    parser.add_argument("--hidden", type=int, default=512)
    parser.add_argument("--seq-len", type=int, default=8)
    parser.add_argument("--stride", type=int, default=2, help="frames between training sequence starts")
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--paper-lstm",
        action="store_true",
        help="the paper's LSTM on postures alone (difference_input=False) instead of the default",
    )
    args = parser.parse_args()
    torch.set_num_threads(1)
    args.out.mkdir(parents=True, exist_ok=True)
    command = " ".join([Path(sys.executable).name, *sys.argv])
    machine = f"{platform.platform()}, {platform.machine()}, {os.cpu_count()} CPUs, torch {torch.__version__}"

    train_store, _ = build(args.out, args.train_bouts, args.frames, args.seed, "train")
    test_store, test_labels = build(args.out, args.test_bouts, args.frames, args.seed + 1, "test")
    work = args.out / "work"
    config = args.out / "config.py"  # the shipped config, with the LSTM input the command line chose
    config.write_text(
        f"_base_ = [{str(config_path('lstm-selfsup', None))!r}]\n"
        f"model = dict(net=dict(difference_input={not args.paper_lstm}))\n"
    )
    started = time.perf_counter()
    result = lstm_selfsup.train(
        train_store,
        work,
        config=config,
        crop_size=args.crop_size,
        epochs=args.epochs,
        hidden=args.hidden,
        seq_len=args.seq_len,
        stride=args.stride,
        seed=args.seed,
        progress=False,
    )
    train_seconds = time.perf_counter() - started
    trained = checkpoints.load(result["checkpoint"])["state_dict"]

    from mmengine.config import Config

    cfg = Config.fromfile(config)
    cfg.model.net.hidden = args.hidden
    torch.manual_seed(args.seed)
    random_model = MODELS.build(cfg.model)
    trained_model = MODELS.build(cfg.model)
    trained_model.load_state_dict(trained)

    tracks = store_tracks(test_store, args.crop_size, progress=False)
    test_crops = args.out / "test_crops.npz"
    sequence_pairs.save_crops(tracks, test_crops)
    crops = sequence_pairs.load_crops(test_crops)
    length = args.seq_len
    starts = sequence_pairs.window_starts(crops, length)
    bout = crops["track"][starts]
    labels = np.asarray(test_labels)[bout]
    frame_labels = np.asarray(test_labels)[crops["track"]]
    from posekit.store import SkeletonStore

    with SkeletonStore(test_store) as store:
        keypoints = np.concatenate([store[i].keypoints[:, 0] for i in range(len(store))])  # (F, 3, 2)
    centred = (keypoints - keypoints[:, 1:2]).reshape(len(keypoints), -1)  # head and tail about the centre
    small = np.stack([cv2.resize(c, (16, 16), interpolation=cv2.INTER_AREA) for c in crops["crops"]])

    rows = {}
    lstm = "paper's LSTM" if args.paper_lstm else "LSTM on postures + changes"
    for name, model in (
        (f"CNN-LSTM ({lstm}), self-supervised", trained_model),
        (f"CNN-LSTM ({lstm}), random init", random_model),
    ):
        posture, window_starts, behaviour = lstm_selfsup.embed(model.net, crops, length)
        assert np.array_equal(window_starts, starts)
        rows[name] = {
            "behaviour": scores(behaviour, labels, bout, args.k),
            "posture": scores(posture, frame_labels, crops["track"], args.k),
            "order_accuracy": order_accuracy(model.net, crops, starts, length, args.seed),
        }
    rows["raw pixels (16x16 crops)"] = {
        "behaviour": scores(raw_windows(small.reshape(len(small), -1), starts, length), labels, bout, args.k),
        "posture": scores(
            small.reshape(len(small), -1) - small.reshape(len(small), -1).mean(0), frame_labels, crops["track"], args.k
        ),
    }
    rows["raw keypoints (head, tail - centre)"] = {
        "behaviour": scores(raw_windows(centred, starts, length), labels, bout, args.k),
        "posture": scores(centred - centred.mean(0), frame_labels, crops["track"], args.k),
    }
    chance = float(np.mean([(labels == c).mean() for c in labels]))

    report = {
        "command": command,
        "date": datetime.date.today().isoformat(),
        "machine": machine,
        "train_seconds": train_seconds,
        "test_windows": len(starts),
        "test_frames": int(crops["valid"].sum()),
        "train_accuracy": result["train_accuracy"],
        "chance_precision": chance,
        "rows": rows,
        "args": {k: str(v) for k, v in vars(args).items()},
    }
    (args.out / "report.json").write_text(json.dumps(report, indent=1))
    print(
        f"{command}\n{report['date']}, {machine}; training {train_seconds:.0f} s, "
        f"{len(starts)} test windows of {length} frames from {len(test_labels)} bouts; chance P@k {chance:.3f}\n"
    )
    print(
        f"| features | behaviour P@{args.k} | behaviour mAP | posture P@{args.k} | posture mAP | "
        f"real-vs-permuted acc. |\n|---|---:|---:|---:|---:|---:|"
    )
    for name, row in rows.items():
        acc = f"{100 * row['order_accuracy']:.1f}%" if "order_accuracy" in row else "-"
        print(
            f"| {name} | {row['behaviour']['p_at_k']:.3f} | {row['behaviour']['map']:.3f} | "
            f"{row['posture']['p_at_k']:.3f} | {row['posture']['map']:.3f} | {acc} |"
        )


if __name__ == "__main__":
    main()
