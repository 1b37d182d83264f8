"""DVC stage ``sentibench_report``: Table-2-style markdown + category plot from all evaluated
models (:func:`sentidistill.sentibench.report.build_report`)."""

from __future__ import annotations

import argparse

from sentidistill import paths
from sentidistill.params import load_section
from sentidistill.sentibench.report import ReportEntries, ReportParams, build_report


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.parse_args(argv)
    params = load_section("sentibench.report", ReportParams)
    entries = list(load_section("sentibench.models", ReportEntries).root)
    build_report(entries, params, paths.STATS / "sentibench", paths.REPORTS)


if __name__ == "__main__":
    main()
