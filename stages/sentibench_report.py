"""DVC stage ``sentibench_report``: Table-2-style markdown + category plot from all evaluated models."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from sentidistill import paths
from sentidistill.io import write_text
from sentidistill.log import get_logger
from sentidistill.params import load_params, parse_section
from sentidistill.sentibench.compare import comparison_markdown
from sentidistill.sentibench.report import ReportParams, plot_categories, report_markdown

log = get_logger(__name__)


def build_report(entries: list[str], params: ReportParams, metrics_dir: Path, out_dir: Path) -> Path:
    results = {}
    for e in entries:
        p = metrics_dir / f"{e}.json"
        if not p.exists():
            raise FileNotFoundError(f"{p} missing: run `dvc repro sentibench_eval@{e}` first")
        results[e] = json.loads(p.read_text(encoding="utf-8"))
    comparison, cmp = None, None
    cmp_path = metrics_dir / "comparison.json"
    if cmp_path.is_file():  # the main job's paired comparison (stage sentibench_compare)
        cmp = json.loads(cmp_path.read_text(encoding="utf-8"))
        comparison = (f"{cmp['model']} vs {cmp['baseline']} (paired)", comparison_markdown(cmp, title=False))
    plots = plot_categories(results, out_dir / "sentibench_categories", comparison=cmp)
    md = report_markdown(results, baseline=params.baseline, plot_names=[plots[0].name], comparison=comparison)
    out = out_dir / "sentibench.md"
    write_text(out, md)
    log.info("wrote %s and %s", out, ", ".join(p.name for p in plots))
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.parse_args(argv)
    bench = load_params().get("sentibench", {})
    params = parse_section("sentibench.report", bench.get("report"), ReportParams)
    entries = list(bench.get("models", {}))
    build_report(entries, params, paths.STATS / "sentibench", paths.REPORTS)


if __name__ == "__main__":
    main()
