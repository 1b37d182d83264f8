"""The training loss per optimizer step: rows from the Trainer's log history and a static plot of them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

LOG_COLUMNS = ("step", "epoch", "loss", "learning_rate", "grad_norm")
LOSS_PLOT_DPI = 110


def log_rows(log_history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per-step training rows (loss, lr) from ``trainer.state.log_history``."""
    rows = []
    for entry in log_history:
        if "loss" in entry and "step" in entry:
            rows.append({k: entry.get(k) for k in LOG_COLUMNS})
    return rows


def plot_log(rows: list[dict[str, Any]], stem: Path, title: str) -> list[Path]:
    """Static PNG/SVG (matplotlib Agg) of loss and learning rate per step: they render offline,
    where DVCLive's own plots (``dvc plots show``) load their charting library from the web."""
    stem.parent.mkdir(parents=True, exist_ok=True)
    from sentidistill.reports.plots import pyplot, save_figure

    plt = pyplot()
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.2))
    steps = [r["step"] for r in rows]
    ax1.plot(steps, [r["loss"] for r in rows], marker=".")
    ax1.set(xlabel="optimizer step", ylabel="training loss (completion tokens)", title=title)
    ax2.plot(steps, [r["learning_rate"] for r in rows], marker=".", color="tab:orange")
    ax2.set(xlabel="optimizer step", ylabel="learning rate")
    ax2.ticklabel_format(axis="y", style="sci", scilimits=(0, 0))
    fig.tight_layout()
    return save_figure(fig, stem, dpi=LOSS_PLOT_DPI)
