"""``reports/index.md`` + ``reports/index.html``: one offline page that links every report,
plot and metrics file the pipeline has produced (relative links, inline CSS, no JavaScript,
nothing loaded from the internet)."""

from __future__ import annotations

import html
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sentidistill.io import write_text
from sentidistill.log import get_logger
from sentidistill.reports.plots import plot_corpus_accounting, plot_training_loss, read_loss_csv
from sentidistill.sentibench.datasets import CATEGORIES

log = get_logger(__name__)

TRAINING_STAGES = ("knowdist", "icldist")


@dataclass
class Inputs:
    root: Path
    metrics_dir: Path
    reports_dir: Path
    training_plots_dir: Path
    extra: dict[str, Any] = field(default_factory=dict)


def _load(p: Path) -> Any:
    return json.loads(p.read_text(encoding="utf-8")) if p.is_file() else None


def _rel(p: Path, start: Path) -> str:
    import os

    return Path(os.path.relpath(p, start)).as_posix()


def _sentibench_rows(results: Mapping[str, Any]) -> tuple[list[str], list[list[str]]]:
    header = ["model", *CATEGORIES, "Avg"]
    rows = []
    for name, res in results.items():
        cats = res.get("categories", {})
        vals = [cats.get(c) for c in CATEGORIES] + [res.get("avg")]
        rows.append([name, *("–" if v is None else f"{v:.2f}" for v in vals)])
    return header, rows


COMPARISON_FILE = "comparison.json"


def _comparison_rows(cmp: Mapping[str, Any]) -> tuple[list[str], list[list[str]]]:
    fmt = lambda v, sign="": "–" if v is None else f"{v:{sign}.2f}"  # noqa: E731
    header = ["dataset", "n × seeds", cmp["baseline"], cmp["model"], "Δ", "CI"]
    rows = []
    for name, d in cmp["datasets"].items():
        ci = "–" if d["ci_low"] is None else f"[{d['ci_low']:+.2f}, {d['ci_high']:+.2f}]"
        rows.append([name, f"{d['n_examples']} × {d['seeds']}", fmt(d["baseline_f1"]), fmt(d["model_f1"]),
                     fmt(d["delta"], "+"), ci])  # fmt: skip
    m = cmp["mean"]
    ci = "–" if m["ci_low"] is None else f"[{m['ci_low']:+.2f}, {m['ci_high']:+.2f}]"
    n = sum(d["n_examples"] for d in cmp["datasets"].values())
    rows.append([f"mean of {m['n_datasets']}", str(n), fmt(m["baseline_f1"]), fmt(m["model_f1"]), fmt(m["delta"], "+"), ci])
    return header, rows


def _md_table(header: list[str], rows: list[list[str]]) -> str:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(out) + "\n"


def _html_table(header: list[str], rows: list[list[str]]) -> str:
    th = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    trs = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{th}</tr></thead><tbody>{trs}</tbody></table>"


CSS = """body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#212529}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ced4da;padding:.25em .6em;text-align:right}
td:first-child,th:first-child{text-align:left}img{max-width:100%;border:1px solid #dee2e6}
h2{border-bottom:1px solid #dee2e6;padding-bottom:.2em}code{background:#f1f3f5;padding:0 .2em}"""


def build_index(inp: Inputs) -> dict[str, Any]:
    """Render the plots this module owns, then write index.md/index.html; returns a summary."""
    out = inp.reports_dir
    out.mkdir(parents=True, exist_ok=True)
    sections: list[tuple[str, str, str]] = []  # (title, markdown, html)
    summary: dict[str, Any] = {"plots": [], "links": []}

    # SentiBench (plot + table written by sentibench_report)
    sb_dir = inp.metrics_dir / "sentibench"
    results = {p.stem: _load(p) for p in sorted(sb_dir.glob("*.json")) if p.name != COMPARISON_FILE}
    md, ht = [], []
    cmp = _load(sb_dir / COMPARISON_FILE)
    if cmp:
        h, rows = _comparison_rows(cmp)
        conf = round(100 * cmp["confidence"])
        m = cmp["mean"]
        ci = "no interval" if m["ci_low"] is None else f"{conf}% CI [{m['ci_low']:+.2f}, {m['ci_high']:+.2f}]"
        head = (f"**{cmp['model']} vs {cmp['baseline']}: {m['delta']:+.2f} macro-F1 points** on the mean of "
                f"{m['n_datasets']} classification datasets ({ci}; paired bootstrap over the same test examples, "
                f"n per dataset in the table). Details: [sentibench_comparison.md](sentibench_comparison.md)")
        md.append(head + "\n\n" + _md_table(h, rows) + "\n")
        ht.append(f"<p>{html.escape(head)}</p>" + _html_table(h, rows))
        summary["comparison"] = m
    if results:
        h, rows = _sentibench_rows(results)
        md.append("F1 (%), mean over seeds and datasets of each category.\n\n" + _md_table(h, rows))
        ht.append("<p>F1 (%), mean over seeds and datasets of each category.</p>" + _html_table(h, rows))
    for name in ("sentibench_categories.png",):
        if (out / name).exists():
            md.append(f"\n![SentiBench per category]({name}) ([SVG]({Path(name).with_suffix('.svg')}))\n")
            ht.append(f'<p><img src="{name}" alt="SentiBench per category"> <a href="{Path(name).with_suffix(".svg")}">SVG</a></p>')
            summary["plots"].append(name)
    if (out / "sentibench.md").exists():
        md.append("\nFull table (every dataset, ± std, run details): [sentibench.md](sentibench.md)\n")
        ht.append('<p>Full table (every dataset, ± std, run details): <a href="sentibench.md">sentibench.md</a></p>')
    sections.append(("SentiBench", "".join(md) or "_not evaluated yet_\n", "".join(ht) or "<p>not evaluated yet</p>"))

    # Classifier student (classifier_report): encoder vs LLMs on the same SentiBench examples
    comp = _load(inp.metrics_dir / "classifier_comparison.json")
    if comp and (out / "classifier.md").exists():
        ds = comp.get("matched_datasets") or []
        h = ["model", *ds, "Avg"]
        rows = [[name, *(f"{r[d]['f1']:.2f}" if d in r else "–" for d in ds),
                 "–" if r.get("avg") is None else f"{r['avg']:.2f}"] for name, r in comp.get("matched", {}).items()]
        failed = comp.get("teacher_parse_failed")
        note = f"Teacher answers that failed to parse: {failed}. " if failed is not None else ""
        md = ("Macro-F1 (%) on the examples the LLM evaluation used. " + note
              + "Full tables, the encoders on the full test splits and the label mapping: [classifier.md](classifier.md)\n\n")
        ht = (f"<p>Macro-F1 (%) on the examples the LLM evaluation used. {html.escape(note)}Full tables, the encoders on "
              'the full test splits and the label mapping: <a href="classifier.md">classifier.md</a></p>')
        if rows and ds:
            md += _md_table(h, rows)
            ht += _html_table(h, rows)
        sections.append(("Classifier student (encoder)", md, ht))

    # Training loss
    logs = {s: read_loss_csv(inp.training_plots_dir / f"{s}.csv") for s in TRAINING_STAGES
            if (inp.training_plots_dir / f"{s}.csv").is_file()}
    plot_training_loss(logs, out / "training_loss")
    summary["plots"].append("training_loss.png")
    tm = {s: _load(inp.metrics_dir / "training" / f"{s}.json") for s in TRAINING_STAGES}
    rows = [[s, str(m.get("global_step", "–")), str(m.get("first_loss", "–")), str(m.get("last_loss", "–")),
             str(m.get("train_seconds", "–"))] for s, m in tm.items() if m]
    h = ["stage", "steps", "first loss", "last loss", "train s"]
    md = "![training loss](training_loss.png) ([SVG](training_loss.svg))\n"
    ht = '<p><img src="training_loss.png" alt="training loss"> <a href="training_loss.svg">SVG</a></p>'
    if rows:
        md = _md_table(h, rows) + "\n" + md
        ht = _html_table(h, rows) + ht
    for s in TRAINING_STAGES:
        p = inp.training_plots_dir / f"{s}.png"
        if p.exists():
            md += f"- {s} (per-stage plot, loss + lr): [{_rel(p, out)}]({_rel(p, out)})\n"
            ht += f'<p>{s} (loss + lr): <a href="{_rel(p, out)}">{_rel(p, out)}</a></p>'
    sections.append(("Student training", md, ht))

    # Corpus accounting
    corpus = _load(inp.metrics_dir / "corpus.json")
    if corpus and "total" in corpus:
        plot_corpus_accounting(corpus, out / "corpus_accounting")
        summary["plots"].append("corpus_accounting.png")
        t = corpus["total"]
        keys = ["raw", "rejected", "exact_duplicates", "near_duplicates", "contaminated", "kept"]
        rows = [[d, *(f"{v.get(k, 0):,}" for k in keys)] for d, v in sorted(corpus.get("by_domain", {}).items())]
        rows.append(["**total**", *(f"{t.get(k, 0):,}" for k in keys)])
        pools = corpus.get("pools", {})
        pools_txt = ", ".join(f"{k}: {v.get('total', '?'):,}" for k, v in pools.items())
        md = (_md_table(["domain", *keys], rows) + f"\nPools: {pools_txt}\n\n"
              "![corpus accounting](corpus_accounting.png) ([SVG](corpus_accounting.svg))\n")
        ht = (_html_table(["domain", *keys], [[c.replace("**", "") for c in r] for r in rows])
              + f"<p>Pools: {html.escape(pools_txt)}</p>"
              + '<p><img src="corpus_accounting.png" alt="corpus accounting"> <a href="corpus_accounting.svg">SVG</a></p>')
        sections.append(("Distillation corpus (raw → kept)", md, ht))
    else:
        plot_corpus_accounting({"total": {"raw": 0, "kept": 0}, "by_domain": {}}, out / "corpus_accounting")
        sections.append(("Distillation corpus (raw → kept)", "_not built yet_\n", "<p>not built yet</p>"))

    # Stage statistics (every metrics JSON)
    stats = sorted(p for p in inp.metrics_dir.rglob("*.json"))
    links = [(_rel(p, out), p.relative_to(inp.metrics_dir).as_posix()) for p in stats]
    summary["links"] = [t for _, t in links]
    md = "".join(f"- [{t}]({h})\n" for h, t in links) or "_none yet_\n"
    ht = "<ul>" + "".join(f'<li><a href="{html.escape(h)}">{html.escape(t)}</a></li>' for h, t in links) + "</ul>"
    sections.append(("Stage statistics (metrics/)", md, ht))

    title = "sentidistill reports"
    intro = "Produced by the `report_index` DVC stage; every plot is a static PNG/SVG (renders offline)."
    index_md = f"# {title}\n\n{intro}\n\n" + "\n".join(f"## {t}\n\n{m}" for t, m, _ in sections)
    body = "".join(f"<h2>{html.escape(t)}</h2>{h}" for t, _, h in sections)
    index_html = (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
                  f"<style>{CSS}</style></head><body><h1>{title}</h1><p>{html.escape(intro)}</p>{body}</body></html>\n")
    write_text(out / "index.md", index_md)
    write_text(out / "index.html", index_html)
    log.info("wrote %s and %s (%d plots, %d metrics files)", out / "index.md", out / "index.html",
             len(summary["plots"]), len(summary["links"]))
    return summary
