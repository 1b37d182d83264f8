"""Table-2-style markdown and an offline plot from the per-model SentiBench metrics."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import Field, RootModel

from sentidistill.io import read_json, write_text
from sentidistill.log import get_logger
from sentidistill.params import StrictModel
from sentidistill.schemas.sentibench_datasets import CATEGORIES, DATASETS
from sentidistill.sentibench.compare import comparison_markdown

log = get_logger(__name__)


class ReportEntries(RootModel[dict[str, dict[str, Any]]]):
    """``sentibench.models`` as the report reads it: the entry names, in params.yaml order (each
    entry is validated by ``sentibench_eval``, whose code this stage need not depend on)."""


class ReportParams(StrictModel):
    """``sentibench.report``: which entry the others are compared with."""

    baseline: str | None = Field(default=None, description="entry of sentibench.models to show deltas against")


def _fmt(v: float | None, std: float | None = None) -> str:
    if v is None:
        return "–"
    return f"{v:.2f}" if std is None else f"{v:.2f}±{std:.1f}"


def _delta(v: float | None, base: float | None) -> str:
    if v is None or base is None:
        return ""
    d = v - base
    return f" ({d:+.2f})"


def table2_markdown(
    results: Mapping[str, Mapping[str, Any]],
    *,
    baseline: str | None = None,
    with_std: bool = False,
    min_n: int | None = None,
) -> str:
    """Rows = models, columns = datasets grouped by category, category means and Avg (F1, %);
    with ``min_n``, a cell that rests on fewer test examples is marked ``†``."""
    keys = [k for cat in CATEGORIES.values() for k in cat]
    cats = list(CATEGORIES)
    header = ["Model", *(DATASETS[k].display for k in keys), *cats, "Avg"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    base = results.get(baseline) if baseline else None
    for name, res in results.items():
        ds = res.get("datasets", {})
        cells = [name]
        for k in keys:
            d = ds.get(k)
            v = d["f1"] if d else None
            cell = _fmt(v, d.get("f1_std") if (d and with_std) else None)
            if d and min_n is not None and (d.get("n_examples") or 0) < min_n:
                cell += "†"
            if base is not None and name != baseline:
                b = base.get("datasets", {}).get(k)
                cell += _delta(v, b["f1"] if b else None)
            cells.append(cell)
        for c in cats:
            v = res.get("categories", {}).get(c)
            cells.append(_fmt(v) + (_delta(v, base.get("categories", {}).get(c)) if base and name != baseline else ""))
        avg = res.get("avg")
        cells.append(_fmt(avg) + (_delta(avg, base.get("avg")) if base and name != baseline else ""))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _shots(cfg: Mapping[str, Any]) -> str:
    shots = cfg.get("shots") or {}
    counts = sorted(set(shots.values()))
    if len(counts) <= 1:
        return str(counts[0]) if counts else "?"
    return ", ".join(f"{k} {v}" for k, v in shots.items())


def run_details(results: Mapping[str, Mapping[str, Any]]) -> str:
    """How each model's numbers were produced: engine, protocol switches, sizes, revision."""
    lines = [
        "| Model | engine | shots | demos from | prompt text | FSA parser | examples/dataset | seeds | predictions "
        "| unparseable | code revision | eval time (s) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, res in results.items():
        ds = list(res.get("datasets", {}).values())
        n_ex = sorted({d["n_examples"] for d in ds})
        seeds = sorted({d["n_seeds"] for d in ds})
        unp = sum(d.get("n_unparseable", 0) for d in ds)
        eng = res.get("engine", {})
        cfg = res.get("config", {})
        prov = res.get("provenance", {})
        rev = (prov.get("git_revision") or "?")[:10] + (" (modified)" if prov.get("code_modified") else "")
        lines.append(
            f"| {name} | {eng.get('backend', '?')} {eng.get('dtype', '')} | {_shots(cfg)} | {cfg.get('demo_split', '?')} "
            f"| {cfg.get('prompt_text', '?')} | {cfg.get('parser', '?')} | {','.join(map(str, n_ex))} | "
            f"{','.join(map(str, seeds))} | {res.get('examples_scored', '?')} | {unp} | {rev} | {res.get('eval_seconds', '?')} |"
        )
    return "\n".join(lines) + "\n"


def plot_categories(
    results: Mapping[str, Mapping[str, Any]],
    out_base: Path,
    title: str = "SentiBench",
    comparison: Mapping[str, Any] | None = None,
) -> list[Path]:
    """Grouped bars of BSA/MSA/FSA/Avg per model and, with the main job's ``comparison``, a second
    panel: the paired difference per dataset and for the mean with its bootstrap interval as
    error bars (n in the tick labels). PNG and SVG, no network needed."""
    from sentidistill.reports.plots import pyplot, save_figure

    plt = pyplot()
    # only the categories some model was evaluated on; a missing value gets no bar (not a 0)
    groups = [c for c in CATEGORIES if any(c in r.get("categories", {}) for r in results.values())] + ["Avg"]
    names = list(results)
    width = 0.8 / max(len(names), 1)
    deltas = _delta_rows(comparison) if comparison else []
    fig, axes = plt.subplots(
        1,
        2 if deltas else 1,
        figsize=(13 if deltas else 7.5, 4),
        dpi=120,
        squeeze=False,
        gridspec_kw={"width_ratios": [1, 1.2]} if deltas else None,
    )
    ax = axes[0][0]
    for i, name in enumerate(names):
        res = results[name]
        vals = [res.get("categories", {}).get(g) if g != "Avg" else res.get("avg") for g in groups]
        xs = [j + (i - (len(names) - 1) / 2) * width for j in range(len(groups))]
        kept = [(x, v) for x, v in zip(xs, vals) if v is not None]
        bars = ax.bar([x for x, _ in kept], [v for _, v in kept], width, label=name)
        ax.bar_label(bars, fmt="%.1f", fontsize=7, padding=1)
    ax.set_xticks(range(len(groups)), groups)
    ax.set_ylabel("F1 (%)")
    ax.set_ylim(0, 100)
    ax.set_title(title)
    ax.legend(fontsize=8, loc="upper right")
    ax.grid(axis="y", alpha=0.3)
    if deltas:
        dx = axes[0][1]
        labels = [r[0] for r in deltas]
        mids = [r[1] for r in deltas]
        err = [[m - lo for _, m, lo, _ in deltas], [hi - m for _, m, _, hi in deltas]]
        colors = ["tab:gray" if lo <= 0 <= hi else ("tab:green" if lo > 0 else "tab:red") for _, _, lo, hi in deltas]
        dx.bar(range(len(deltas)), mids, color=colors, yerr=err, capsize=3, ecolor="black", alpha=0.85)
        dx.axhline(0, color="black", linewidth=0.8)
        dx.set_xticks(range(len(deltas)), labels, fontsize=7, rotation=30, ha="right")
        dx.set_ylabel("macro-F1 difference (points)")
        conf = comparison.get("confidence", 0.95)
        dx.set_title(
            f"{comparison.get('model')} - {comparison.get('baseline')}: paired, {conf:.0%} bootstrap CI", fontsize=9
        )
        dx.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return save_figure(fig, out_base)


def _delta_rows(comparison: Mapping[str, Any]) -> list[tuple[str, float, float, float]]:
    """(label with n, delta, ci_low, ci_high) per dataset with an interval, then the mean."""
    rows = []
    for key, d in (comparison.get("datasets") or {}).items():
        if d.get("ci_low") is None or d.get("delta") is None:
            continue  # too few examples for an interval: no bar that would look like one
        rows.append((f"{DATASETS[key].display} (n={d.get('n_examples')})", d["delta"], d["ci_low"], d["ci_high"]))
    m = comparison.get("mean") or {}
    if m.get("ci_low") is not None:
        n = sum((d.get("n_examples") or 0) for d in (comparison.get("datasets") or {}).values())
        rows.append((f"mean (n={n})", m["delta"], m["ci_low"], m["ci_high"]))
    return rows


def report_markdown(
    results: Mapping[str, Mapping[str, Any]],
    *,
    baseline: str | None,
    plot_names: Sequence[str],
    comparison: tuple[str, str] | None = None,
) -> str:
    """The report; ``comparison`` = (section title, markdown) of the paired comparison, placed
    after the main table."""
    parts = [
        "# SentiBench results\n",
        "F1 (%) per dataset, mean over seeds; categories and Avg are means over their datasets "
        "(macro-F1 for classification, exact-tuple micro-F1 for ATSA/ACSA/ASQP, sentiment-graph F1 for SSA; "
        "paper Table 2 layout). Fine-grained answers are read by the parser named in the Runs table "
        "(`official`: the authors' scorer's rules; see docs/sentibench.md).",
    ]
    if baseline and baseline in results:
        parts.append(f" Parentheses: difference to `{baseline}`.")
    parts += ["\n\n", table2_markdown(results, baseline=baseline)]
    if comparison is not None:
        parts += [f"\n## {comparison[0]}\n\n", comparison[1]]
    parts += ["\n## Mean ± std over seeds\n\n"]
    parts += [table2_markdown(results, with_std=True), "\n## Runs\n\n", run_details(results), "\n"]
    for p in plot_names:
        parts.append(f"![SentiBench per category]({p})\n")
    return "".join(parts)


def build_report(entries: Sequence[str], params: ReportParams, metrics_dir: Path, out_dir: Path) -> Path:
    """``<out_dir>/sentibench.md`` + the category plot from every entry's summary (and the
    main job's paired comparison, when stage ``sentibench_compare`` has written it)."""
    results = {}
    for e in entries:
        p = metrics_dir / f"{e}.json"
        if not p.exists():
            raise FileNotFoundError(f"{p} missing: run `dvc repro sentibench_eval@{e}` first")
        results[e] = read_json(p)
    comparison = None
    cmp = read_json(metrics_dir / "comparison.json", default=None)
    if cmp is not None:
        comparison = (f"{cmp['model']} vs {cmp['baseline']} (paired)", comparison_markdown(cmp, title=False))
    plots = plot_categories(results, out_dir / "sentibench_categories", comparison=cmp)
    md = report_markdown(results, baseline=params.baseline, plot_names=[plots[0].name], comparison=comparison)
    out = out_dir / "sentibench.md"
    write_text(out, md)
    log.info("wrote %s and %s", out, ", ".join(p.name for p in plots))
    return out
