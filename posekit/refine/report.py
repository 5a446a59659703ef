"""The files of ``posekit refine --report``: report.json and two figures of pose_refine's :class:`QualityReport`."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from pose_refine.report import PLOT_BINS, QualityReport, confidence_bins

from ..plots import _pyplot
from ..store import atomic_path

FILES = ("report.json", "confidence.png", "experts.png")  # what write_report() puts in its folder


def write_report(report: QualityReport, folder, *, proposals, refined) -> dict:
    """Write folder/report.json, folder/confidence.png and folder/experts.png; returns their paths."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = {name: folder / name for name in FILES}
    overall = report.overall()
    document = {
        "proposals": str(proposals),
        "refined": str(refined),
        "method": "SST-A",
        "gamma": report.gamma,
        "experts": report.experts,
        "distances_in": "head lengths |fused head - fused neck| (eq. 3.4)",
        "overall": overall,
        "videos": report.videos,
    }
    with atomic_path(paths["report.json"]) as tmp:
        tmp.write_text(json.dumps(document, indent=1))
    with atomic_path(paths["confidence.png"]) as tmp:
        confidence_histogram(report.histogram, report.gamma, tmp, unscored=overall["unscored"])
    with atomic_path(paths["experts.png"]) as tmp:
        expert_bars(overall["experts"], tmp)
    return paths


def confidence_histogram(histogram, gamma: float, path, *, unscored: int = 0):
    """Histogram of C (fine bins summed into PLOT_BINS), kept and discarded in two colours, the gamma line."""
    plt = _pyplot()
    kept, discarded = confidence_bins(histogram, gamma)
    total = max(int(histogram.sum()), 1)
    left, width = np.arange(PLOT_BINS) / PLOT_BINS, 1 / PLOT_BINS
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.bar(left, kept, width, align="edge", color="tab:green", label=f"kept (C >= gamma): {kept.sum() / total:.1%}")
    ax.bar(
        left,
        discarded,
        width,
        bottom=kept,
        align="edge",
        color="tab:red",
        label=f"discarded (C < gamma): {discarded.sum() / total:.1%}",
    )
    ax.axvline(gamma, color="black", linestyle="--", label=f"gamma = {gamma:g}")
    ax.set_xlim(0, 1)
    ax.set_xlabel("SST-A confidence C of a person-frame")
    ax.set_ylabel("person-frames")
    note = f"; {unscored} unscored (no fused head/neck)" if unscored else ""
    ax.set_title(f"SST-A confidence of {int(histogram.sum()):,} person-frames{note}", fontsize=10)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110, format="png")
    plt.close(fig)


def expert_bars(experts: dict, path):
    """Per expert: coverage, fraction selected by SST-A and mean distance to the fused pose."""
    plt = _pyplot()
    names = list(experts)
    panels = (
        ("coverage", "estimated (% of fused joints)", 100),
        ("selected_fraction", "selected by SST-A (%)", 100),
        ("mean_distance_to_fused", "mean distance to fused (head lengths)", 1),
    )
    fig, axes = plt.subplots(1, 3, figsize=(11, 0.6 * len(names) + 1.6), sharey=True)
    for ax, (key, title, scale) in zip(axes, panels):
        values = [np.nan if experts[n][key] is None else experts[n][key] * scale for n in names]
        bars = ax.barh(names, values, color="tab:blue")
        ax.bar_label(bars, fmt="%.2f" if scale == 1 else "%.1f", padding=2, fontsize=8)
        ax.set_title(title, fontsize=9)
        ax.margins(x=0.25)
    axes[0].invert_yaxis()  # experts top to bottom in expert order
    fig.tight_layout()
    fig.savefig(path, dpi=110, format="png")
    plt.close(fig)
