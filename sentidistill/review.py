"""``python -m sentidistill.review [--base main]``: a markdown report of what a change does,
for a pull-request comment (``make review``; ``.github/workflows/ci.yml`` posts it).

Sections: ``dvc params diff <base> --md`` and ``dvc metrics diff <base> --md`` (base
revision vs. the workspace), the SentiBench table side by side (base | this change |
delta, per model entry: category means, Avg and every dataset, read from
``metrics/sentibench/*.json`` at the base via ``git show`` and in the workspace), and
links to the static plot images under ``reports/``. ``--link-prefix`` turns the image
links into absolute URLs (CI passes the blob URL of the PR head commit).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sentidistill import paths
from sentidistill.io import write_text
from sentidistill.schemas.sentibench_datasets import CATEGORIES, DATASETS

SENTIBENCH_METRICS = "metrics/sentibench"
PLOT_SUFFIXES = (".png", ".svg")


def _dvc() -> str:
    cand = Path(sys.executable).parent / "dvc"
    return str(cand) if cand.exists() else (shutil.which("dvc") or "dvc")


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True)


def dvc_diff(kind: str, base: str, cwd: Path) -> str:
    """``dvc {params,metrics} diff <base> --md`` (all keys), or a one-line note."""
    p = _run([_dvc(), kind, "diff", base, "--md"], cwd)
    if p.returncode != 0:
        err = (p.stderr.strip().splitlines() or ["?"])[-1]
        return f"_`dvc {kind} diff {base}` failed: {err}_\n"
    text = p.stdout.strip()
    if sum(1 for ln in text.splitlines() if ln.startswith("|")) <= 2:  # empty, or a header without rows
        return f"_No {kind} changes against `{base}`._\n"
    return text + "\n"


def _changed_only(md_table: str) -> str:
    """Keep the header and the rows whose values differ (``dvc params diff`` may list unchanged ones)."""
    lines = md_table.strip().splitlines()
    if len(lines) < 3 or not lines[0].startswith("|"):
        return md_table
    keep = lines[:2]
    for row in lines[2:]:
        cells = [c.strip() for c in row.strip("|").split("|")]
        if len(cells) >= 3 and cells[-2] != cells[-1]:
            keep.append(row)
    return "\n".join(keep) + "\n" if len(keep) > 2 else ""


def sentibench_at(rev: str | None, cwd: Path) -> dict[str, dict[str, Any]]:
    """{entry: metrics json} at a git revision (None = the workspace)."""
    out: dict[str, dict[str, Any]] = {}
    if rev is None:
        d = cwd / SENTIBENCH_METRICS
        for f in sorted(d.glob("*.json")) if d.is_dir() else []:
            out[f.stem] = json.loads(f.read_text(encoding="utf-8"))
        return out
    ls = _run(["git", "ls-tree", "--name-only", f"{rev}:{SENTIBENCH_METRICS}"], cwd)
    if ls.returncode != 0:
        return out
    for name in ls.stdout.split():
        if name.endswith(".json"):
            show = _run(["git", "show", f"{rev}:{SENTIBENCH_METRICS}/{name}"], cwd)
            if show.returncode == 0:
                out[name[: -len(".json")]] = json.loads(show.stdout)
    return out


def _f(v: float | None) -> str:
    return "–" if v is None else f"{v:.2f}"


def _d(new: float | None, old: float | None) -> str:
    if new is None or old is None:
        return "–"
    d = new - old
    mark = " ▲" if d > 0.005 else (" ▼" if d < -0.005 else "")
    return f"{d:+.2f}{mark}"


def _rows(res: Mapping[str, Any] | None) -> dict[str, float | None]:
    """Flattened F1 (%) values of one metrics json: categories, Avg, then datasets."""
    res = res or {}
    rows: dict[str, float | None] = {}
    for c in CATEGORIES:
        rows[c] = res.get("categories", {}).get(c)
    rows["Avg"] = res.get("avg")
    for k in (k for cat in CATEGORIES.values() for k in cat):
        d = res.get("datasets", {}).get(k)
        rows[DATASETS[k].display] = d.get("f1") if d else None
    return rows


def sentibench_side_by_side(base: Mapping[str, Any], head: Mapping[str, Any], base_rev: str) -> str:
    entries = list(dict.fromkeys([*head, *base]))
    if not entries:
        return "_No SentiBench metrics at either revision._\n"
    parts = []
    summary = ["| Model | Avg (base) | Avg (this change) | Δ |", "|---|---|---|---|"]
    for e in entries:
        b, h = base.get(e, {}).get("avg"), head.get(e, {}).get("avg")
        note = " (new)" if e not in base else (" (removed)" if e not in head else "")
        summary.append(f"| {e}{note} | {_f(b)} | {_f(h)} | {_d(h, b)} |")
    parts.append("\n".join(summary) + "\n")
    for e in entries:
        rb, rh = _rows(base.get(e)), _rows(head.get(e))
        lines = [
            f"<details><summary><b>{e}</b>: per category and dataset (F1, %)</summary>\n",
            f"| | `{base_rev}` | this change | Δ |",
            "|---|---|---|---|",
        ]
        for key in rh:
            if rb[key] is None and rh[key] is None:
                continue
            name = f"**{key}**" if key in CATEGORIES or key == "Avg" else key
            lines.append(f"| {name} | {_f(rb[key])} | {_f(rh[key])} | {_d(rh[key], rb[key])} |")
        lines.append("\n</details>\n")
        parts.append("\n".join(lines))
    return "\n".join(parts)


def plot_links(cwd: Path, link_prefix: str = "") -> str:
    reports = cwd / "reports"
    pngs = sorted(reports.glob("*.png")) if reports.is_dir() else []
    if not pngs:
        return "_No plots under reports/ (run `dvc repro report_index`)._\n"
    lines = []
    for p in pngs:
        rel = p.relative_to(cwd).as_posix()
        svg = p.with_suffix(".svg")
        extra = f" ([SVG]({link_prefix}{svg.relative_to(cwd).as_posix()}))" if svg.exists() else ""
        lines.append(f"- [{p.stem.replace('_', ' ')}]({link_prefix}{rel}){extra}")
    idx = [f for f in ("reports/index.md", "reports/index.html") if (cwd / f).exists()]
    if idx:
        lines.append("- index: " + ", ".join(f"[{f}]({link_prefix}{f})" for f in idx))
    return "\n".join(lines) + "\n"


def _head_label(cwd: Path) -> str:
    p = _run(["git", "rev-parse", "--short", "HEAD"], cwd)
    dirty = _run(["git", "status", "--porcelain", "--untracked-files=no"], cwd).stdout.strip()
    return (p.stdout.strip() or "workspace") + (" + uncommitted changes" if dirty else "")


def build_review(base: str = "main", cwd: Path = paths.ROOT, link_prefix: str = "") -> str:
    ok = _run(["git", "rev-parse", "--verify", "--quiet", f"{base}^{{commit}}"], cwd)
    if ok.returncode != 0:
        raise SystemExit(f"base revision {base!r} not found: `git fetch origin {base}` or pass --base <rev>")
    params = dvc_diff("params", base, cwd)
    params = _changed_only(params) or f"_No parameter changes against `{base}`._\n"
    metrics = dvc_diff("metrics", base, cwd)
    n_rows = metrics.count("\n| ") - 1
    if n_rows > 12:  # long (timings, per-seed values): collapsed in the PR comment
        metrics = f"<details><summary>{n_rows} changed metrics</summary>\n\n{metrics}\n</details>\n"
    bench = sentibench_side_by_side(sentibench_at(base, cwd), sentibench_at(None, cwd), base)
    return "\n".join(
        [
            f"## sentidistill review: `{base}` → {_head_label(cwd)}\n",
            "### Parameters (`dvc params diff`)\n",
            params,
            "### Metrics (`dvc metrics diff`)\n",
            metrics,
            "### SentiBench (F1 %, base vs this change)\n",
            bench,
            "### Plots\n",
            plot_links(cwd, link_prefix),
        ]
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m sentidistill.review", description=__doc__.split("\n\n")[0])
    ap.add_argument("--base", default="main", help="git revision to compare with (default: main)")
    ap.add_argument("--out", type=Path, default=Path("reports/review.md"), help="relative to --repo")
    ap.add_argument("--repo", type=Path, default=paths.ROOT, help="repository root (default: this checkout)")
    ap.add_argument("--link-prefix", default="", help="prefix of plot links (e.g. a blob URL of the head commit)")
    a = ap.parse_args(argv)
    md = build_review(a.base, a.repo, a.link_prefix)
    out = a.out if a.out.is_absolute() else a.repo / a.out
    write_text(out, md)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
