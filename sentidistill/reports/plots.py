"""Static, offline plots (matplotlib Agg; PNG + SVG, no JavaScript): corpus accounting and
training loss curves. The SentiBench per-category bars live in sentidistill/sentibench/report.py."""

from __future__ import annotations

import csv
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sentidistill.io import atomic_path

# removal reasons of metrics/corpus.json, in pipeline order (ingest -> dedup -> decontaminate)
ACCOUNTING_STEPS = [
    ("rejected", "rejected (ingest: empty/length/malformed)"),
    ("exact_duplicates", "exact duplicates"),
    ("near_duplicates", "near duplicates (MinHash)"),
    ("contaminated", "SentiBench overlap (decontamination)"),
]
COLORS = {
    "kept": "#2b8a3e",
    "rejected": "#c92a2a",
    "exact_duplicates": "#e67700",
    "near_duplicates": "#f59f00",
    "contaminated": "#5f3dc4",
}


#: seeds the SVG element ids matplotlib would otherwise draw at random: reruns write the same bytes
SVG_HASH_SALT = "sentidistill"


def pyplot():
    import matplotlib

    matplotlib.use("Agg")
    matplotlib.rcParams["svg.hashsalt"] = SVG_HASH_SALT
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig, out_base: Path, dpi: float | None = None) -> list[Path]:
    out_base.parent.mkdir(parents=True, exist_ok=True)
    written = []
    for ext in ("png", "svg"):
        p = out_base.with_suffix(f".{ext}")
        # no timestamp in the SVG and seeded ids: reruns are byte-identical
        with atomic_path(p) as tmp:
            fig.savefig(tmp, format=ext, dpi=dpi, metadata={"Date": None} if ext == "svg" else None)
        written.append(p)
    pyplot().close(fig)
    return written


def plot_corpus_accounting(corpus: Mapping[str, Any], out_base: Path) -> list[Path]:
    """Left: the funnel raw -> after each removal step -> kept (totals, log-free counts).
    Right: per domain, the share of raw rows kept / removed by reason (stacked bars)."""
    plt = pyplot()
    total = corpus["total"]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4), dpi=120, gridspec_kw={"width_ratios": [1.1, 1]})
    remaining = total["raw"]
    labels, values, colors = ["raw"], [remaining], ["#495057"]
    for key, label in ACCOUNTING_STEPS:
        remaining -= total.get(key, 0)
        labels.append(f"- {label}\n= {remaining:,}")
        values.append(total.get(key, 0))
        colors.append(COLORS[key])
    labels.append("kept")
    values.append(total["kept"])
    colors.append(COLORS["kept"])
    ys = list(range(len(values)))[::-1]
    bars = ax1.barh(ys, values, color=colors)
    ax1.set_yticks(ys, labels, fontsize=7)
    ax1.bar_label(bars, labels=[f"{v:,}" for v in values], fontsize=7, padding=2)
    ax1.set_xscale("symlog")
    ax1.set_xlabel("rows (symlog)")
    ax1.set_title(f"corpus: {total['raw']:,} raw -> {total['kept']:,} kept", fontsize=9)

    doms = corpus.get("by_domain", {})
    names = sorted(doms)
    left = [0.0] * len(names)
    for key in ["kept", *(k for k, _ in ACCOUNTING_STEPS)]:
        shares = [100.0 * doms[d].get(key, 0) / max(doms[d]["raw"], 1) for d in names]
        ax2.barh(names, shares, left=left, color=COLORS[key], label=key.replace("_", " "))
        left = [a + b for a, b in zip(left, shares)]
    lowest_kept = min((100.0 * doms[d].get("kept", 0) / max(doms[d]["raw"], 1) for d in names), default=100.0)
    # removals are a few % at most: zoom on them instead of a wall of green
    ax2.set_xlim(max(0.0, min(95.0, lowest_kept) - 1.0), 100.0)
    ax2.set_xlabel("% of the domain's raw rows (zoomed; right: raw rows)", fontsize=8)
    ax2.legend(fontsize=7, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=3, frameon=False)
    for i, d in enumerate(names):
        ax2.text(100, i, f" {doms[d]['raw']:,}", va="center", fontsize=7)
    fig.tight_layout()
    return save_figure(fig, out_base)


DVCLIVE_LOSS = Path("plots") / "metrics" / "loss.tsv"  # the trainer's per-step "loss", as DVCLive files it


def read_live_loss(live_stage_dir: Path) -> list[dict[str, float]]:
    """``[{"step", "loss"}]`` from a DVCLive training log (``dvclive/<stage>/``); [] if absent."""
    path = live_stage_dir / DVCLIVE_LOSS
    if not path.is_file():
        return []
    rows = []
    with path.open(encoding="utf-8") as fh:
        for r in csv.DictReader(fh, delimiter="\t"):
            try:
                rows.append({k: float(v) for k, v in r.items() if v not in (None, "")})
            except ValueError:
                continue
    return [r for r in rows if "step" in r and "loss" in r]


def plot_training_loss(logs: Mapping[str, list[dict[str, float]]], out_base: Path) -> list[Path]:
    """Loss per optimizer step, one line per training stage (KnowDist then ICLDist), the
    second stage's steps continuing after the first's."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7.5, 4), dpi=120)
    offset = 0.0
    drawn = 0
    for stage, rows in logs.items():
        if not rows:
            continue
        xs = [offset + r["step"] for r in rows]
        ax.plot(xs, [r["loss"] for r in rows], marker="o" if len(rows) < 30 else None, ms=3, label=stage)
        offset = xs[-1]
        drawn += 1
    if not drawn:
        ax.text(
            0.5, 0.5, "no training logs yet (run the train stages)", ha="center", va="center", transform=ax.transAxes
        )
    else:
        ax.legend(fontsize=8)
    ax.set_xlabel("optimizer step (stages concatenated)")
    ax.set_ylabel("training loss (completion tokens)")
    ax.set_title("student training")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return save_figure(fig, out_base)
