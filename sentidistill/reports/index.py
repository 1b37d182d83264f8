"""``reports/index.md`` + ``reports/index.html``: one offline page that links every report,
plot and metrics file the pipeline has produced (relative links, inline CSS, no JavaScript,
nothing loaded from the internet)."""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sentidistill.io import read_json, write_text
from sentidistill.log import get_logger
from sentidistill.reports.plots import plot_corpus_accounting, plot_training_loss, read_live_loss
from sentidistill.schemas.sentibench_datasets import CATEGORIES

log = get_logger(__name__)

TRAINING_STAGES = ("knowdist", "icldist")


@dataclass
class Inputs:
    root: Path
    metrics_dir: Path
    reports_dir: Path
    training_plots_dir: Path
    live_dir: Path | None = None  # DVCLive's folder (dvclive/<stage>/ per training stage)
    extra: dict[str, Any] = field(default_factory=dict)


def _rel(p: Path, start: Path) -> str:
    import os

    return Path(os.path.relpath(p, start)).as_posix()


#: below this many examples a number is marked: it rests on a handful of examples
FEW_EXAMPLES = 30
FEW_MARK = "†"
FEW_NOTE = f"{FEW_MARK} fewer than {FEW_EXAMPLES} examples: a demonstration, not a measurement."
LOSS_DIGITS = 3


def _n_examples(res: Mapping[str, Any]) -> int:
    return sum(int(d.get("n_examples", 0)) for d in res.get("datasets", {}).values())


def _sentibench_rows(results: Mapping[str, Any]) -> tuple[list[str], list[list[str]], bool]:
    """Per category: F1 and the examples behind it; marked where a dataset of it has few examples."""
    from sentidistill.schemas.sentibench_datasets import DATASETS

    header = ["model", *CATEGORIES, "Avg", "examples"]
    rows, few = [], False
    for name, res in results.items():
        cats = res.get("categories", {})
        cells = []
        for c in CATEGORIES:
            present = [d for k, d in res.get("datasets", {}).items() if k in DATASETS and DATASETS[k].category == c]
            n = sum(int(d.get("n_examples", 0)) for d in present)
            v = cats.get(c)
            mark = (
                FEW_MARK if v is not None and any(int(d.get("n_examples", 0)) < FEW_EXAMPLES for d in present) else ""
            )
            few |= bool(mark)
            cells.append("–" if v is None else f"{v:.1f} (n={n}){mark}")
        avg = res.get("avg")
        rows.append([name, *cells, "–" if avg is None else f"{avg:.1f}", str(_n_examples(res))])
    return header, rows, few


def _dataset_rows(results: Mapping[str, Any]) -> tuple[list[str], list[list[str]], bool]:
    """Per dataset and model: F1 with its n (the table of reports/sentibench.md, inline)."""
    from sentidistill.schemas.sentibench_datasets import DATASETS

    models = list(results)
    header = ["dataset", "category", *models]
    rows, few = [], False
    for key, spec in DATASETS.items():
        cells = []
        for m in models:
            d = results[m].get("datasets", {}).get(key)
            if d is None:
                cells.append("–")
                continue
            n = int(d.get("n_examples", 0))
            mark = FEW_MARK if n < FEW_EXAMPLES else ""
            few |= bool(mark)
            cells.append(f"{d['f1']:.1f} (n={n}){mark}")
        if any(c != "–" for c in cells):
            rows.append([key, spec.category, *cells])
    return header, rows, few


COMPARISON_FILE = "comparison.json"


def _comparison_rows(cmp: Mapping[str, Any]) -> tuple[list[str], list[list[str]]]:
    fmt = lambda v, sign="": "–" if v is None else f"{v:{sign}.2f}"  # noqa: E731
    header = ["dataset", "n × seeds", cmp["baseline"], cmp["model"], "Δ", "CI"]
    rows = []
    for name, d in cmp["datasets"].items():
        ci = "–" if d["ci_low"] is None else f"[{d['ci_low']:+.2f}, {d['ci_high']:+.2f}]"
        rows.append(
            [
                name,
                f"{d['n_examples']} × {d['seeds']}",
                fmt(d["baseline_f1"]),
                fmt(d["model_f1"]),
                fmt(d["delta"], "+"),
                ci,
            ]
        )
    m = cmp["mean"]
    ci = "–" if m["ci_low"] is None else f"[{m['ci_low']:+.2f}, {m['ci_high']:+.2f}]"
    n = sum(d["n_examples"] for d in cmp["datasets"].values())
    rows.append(
        [f"mean of {m['n_datasets']}", str(n), fmt(m["baseline_f1"]), fmt(m["model_f1"]), fmt(m["delta"], "+"), ci]
    )
    return header, rows


def _md_table(header: list[str], rows: list[list[str]]) -> str:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(out) + "\n"


def render_html(md_text: str, title: str) -> str:
    """The page as HTML, rendered from its Markdown by the Markdown library (tables, code spans,
    links, images), with inline CSS: one source for both files, no JavaScript, nothing remote."""
    import markdown

    body = markdown.markdown(md_text, extensions=["tables"], output_format="html")
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f"<style>{CSS}</style></head><body>{body}</body></html>\n"
    )


CSS = """body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#212529}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ced4da;padding:.25em .6em;text-align:right}
td:first-child,th:first-child{text-align:left}img{max-width:100%;border:1px solid #dee2e6}
h2{border-bottom:1px solid #dee2e6;padding-bottom:.2em}code{background:#f1f3f5;padding:0 .2em}"""


def build_index(inp: Inputs) -> dict[str, Any]:
    """Render the plots this module owns, then write index.md and index.html (rendered from it)."""
    out = inp.reports_dir
    out.mkdir(parents=True, exist_ok=True)
    sections: list[tuple[str, str]] = []  # (title, markdown)
    summary: dict[str, Any] = {"plots": [], "links": []}
    few_any = False

    # SentiBench (plot + table written by sentibench_report)
    sb_dir = inp.metrics_dir / "sentibench"
    results = {p.stem: read_json(p, default=None) for p in sorted(sb_dir.glob("*.json")) if p.name != COMPARISON_FILE}
    md = []
    cmp = read_json(sb_dir / COMPARISON_FILE, default=None)
    if cmp:
        h, rows = _comparison_rows(cmp)
        conf = round(100 * cmp["confidence"])
        m = cmp["mean"]
        ci = "no interval" if m["ci_low"] is None else f"{conf}% CI [{m['ci_low']:+.2f}, {m['ci_high']:+.2f}]"
        n_total = sum(d["n_examples"] for d in cmp["datasets"].values())
        head = (
            f"**{cmp['model']} vs {cmp['baseline']}: {m['delta']:+.2f} macro-F1 points** on the mean of "
            f"{m['n_datasets']} classification datasets ({ci}; paired bootstrap over the same {n_total} test "
            f"examples, n per dataset in the table). Details: [sentibench_comparison.md](sentibench_comparison.md)"
        )
        md.append(head + "\n\n" + _md_table(h, rows) + "\n")
        summary["comparison"] = m
    if results:
        h, rows, few = _sentibench_rows(results)
        md.append(
            "F1 (%) per category (mean over its datasets and the seeds), with the test examples behind it.\n\n"
            + _md_table(h, rows)
        )
        h, rows, few2 = _dataset_rows(results)
        md.append("\nPer dataset (F1 %, n = test examples):\n\n" + _md_table(h, rows))
        few_any |= few or few2
        if few or few2:
            md.append(f"\n{FEW_NOTE}\n")
    for name in ("sentibench_categories.png",):
        if (out / name).exists():
            md.append(f"\n![SentiBench per category]({name}) ([SVG]({Path(name).with_suffix('.svg')}))\n")
            summary["plots"].append(name)
    if (out / "sentibench.md").exists():
        md.append("\nRun details (± std over seeds, parse counts, configuration): [sentibench.md](sentibench.md)\n")
    sections.append(("SentiBench", "".join(md) or "_not evaluated yet_\n"))

    # Classifier student (classifier_report): encoder vs LLMs
    comp = read_json(inp.metrics_dir / "classifier_comparison.json", default=None)
    if comp and (out / "classifier.md").exists():
        md = ""
        full = comp.get("full") or {}
        if full:
            ds = sorted({d for r in full.values() for d in r if isinstance(r.get(d), dict)})
            nrow = comp.get("full_n") or {}
            h = ["model", *(f"{d} (n={nrow.get(d, '?')})" for d in ds), "Avg"]
            rows = [
                [
                    name,
                    *(f"{r[d]['f1']:.1f}" if d in r else "–" for d in ds),
                    "–" if r.get("avg") is None else f"{r['avg']:.1f}",
                ]
                for name, r in full.items()
            ]
            md += "Macro-F1 (%) of the encoders on the full test splits:\n\n" + _md_table(h, rows) + "\n"
        ds = comp.get("matched_datasets") or []
        matched_n = comp.get("matched_n") or {}
        failed = comp.get("teacher_parse_failed")
        note = f"Teacher answers that failed to parse: {failed}. " if failed is not None else ""
        if ds and comp.get("matched"):
            few = any(int(matched_n.get(d, 0)) < FEW_EXAMPLES for d in ds)
            few_any |= few
            h = [
                "model",
                *(
                    f"{d} (n={matched_n.get(d, '?')}){FEW_MARK if int(matched_n.get(d, 0)) < FEW_EXAMPLES else ''}"
                    for d in ds
                ),
                "Avg",
            ]
            rows = [
                [
                    name,
                    *(f"{r[d]['f1']:.1f}" if d in r else "–" for d in ds),
                    "–" if r.get("avg") is None else f"{r['avg']:.1f}",
                ]
                for name, r in comp["matched"].items()
            ]
            md += (
                "Macro-F1 (%) on the examples every compared model saw (the LLM evaluation's, teacher included). "
                + note
                + "\n\n"
                + _md_table(h, rows)
                + (f"\n{FEW_NOTE}\n" if few else "")
                + "\n"
            )
        md += "Full tables and the label mapping: [classifier.md](classifier.md)\n"
        sections.append(("Classifier student (encoder)", md))

    # Training loss
    logs = {s: rows for s in TRAINING_STAGES if inp.live_dir is not None and (rows := read_live_loss(inp.live_dir / s))}
    plot_training_loss(logs, out / "training_loss")
    summary["plots"].append("training_loss.png")
    tm = {s: read_json(inp.metrics_dir / "training" / f"{s}.json", default=None) for s in TRAINING_STAGES}

    def num(v: Any, digits: int = LOSS_DIGITS) -> str:
        return "–" if v is None else (f"{v:.{digits}f}" if isinstance(v, float) else str(v))

    rows = [
        [
            s,
            num(m.get("global_step")),
            num(m.get("first_loss")),
            num(m.get("last_loss")),
            num(m.get("train_seconds"), 0),
        ]
        for s, m in tm.items()
        if m
    ]
    h = ["stage", "steps", "first loss", "last loss", "train s"]
    md = "![training loss](training_loss.png) ([SVG](training_loss.svg))\n"
    if rows:
        md = _md_table(h, rows) + "\n" + md
    for s in TRAINING_STAGES:
        p = inp.training_plots_dir / f"{s}.png"
        if p.exists():
            md += f"- {s} (per-stage plot, loss + lr): [{_rel(p, out)}]({_rel(p, out)})\n"
    sections.append(("Student training", md))

    # Corpus accounting
    corpus = read_json(inp.metrics_dir / "corpus.json", default=None)
    if corpus and "total" in corpus:
        plot_corpus_accounting(corpus, out / "corpus_accounting")
        summary["plots"].append("corpus_accounting.png")
        t = corpus["total"]
        keys = ["raw", "rejected", "exact_duplicates", "near_duplicates", "contaminated", "kept"]
        rows = [[d, *(f"{v.get(k, 0):,}" for k in keys)] for d, v in sorted(corpus.get("by_domain", {}).items())]
        rows.append(["**total**", *(f"{t.get(k, 0):,}" for k in keys)])
        pools = corpus.get("pools", {})
        pools_txt = ", ".join(f"{k}: {v.get('total', '?'):,}" for k, v in pools.items())
        md = (
            _md_table(["domain", *keys], rows) + f"\nPools: {pools_txt}\n\n"
            "![corpus accounting](corpus_accounting.png) ([SVG](corpus_accounting.svg))\n"
        )
        sections.append(("Distillation corpus (raw → kept)", md))
    else:
        plot_corpus_accounting({"total": {"raw": 0, "kept": 0}, "by_domain": {}}, out / "corpus_accounting")
        sections.append(("Distillation corpus (raw → kept)", "_not built yet_\n"))

    # Stage statistics (every metrics JSON)
    stats = sorted(p for p in inp.metrics_dir.rglob("*.json"))
    links = [(_rel(p, out), p.relative_to(inp.metrics_dir).as_posix()) for p in stats]
    summary["links"] = [t for _, t in links]
    sections.append(("Stage statistics (stats/)", "".join(f"- [{t}]({h})\n" for h, t in links) or "_none yet_\n"))

    title = "sentidistill reports"
    intro = "Produced by the `report_index` DVC stage; every plot is a static PNG/SVG (renders offline)."
    index_md = f"# {title}\n\n{intro}\n\n" + "\n".join(f"## {t}\n\n{m}" for t, m in sections)
    write_text(out / "index.md", index_md)
    write_text(out / "index.html", render_html(index_md, title))
    summary["few_examples_marked"] = few_any
    log.info(
        "wrote %s and %s (%d plots, %d metrics files)",
        out / "index.md",
        out / "index.html",
        len(summary["plots"]),
        len(summary["links"]),
    )
    return summary
