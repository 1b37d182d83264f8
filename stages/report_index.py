"""DVC stage ``report_index``: offline plots (corpus accounting, training loss) and
``reports/index.{md,html}`` linking every report, plot and metrics file present."""

from __future__ import annotations

import argparse

from sentidistill import paths
from sentidistill.reports.index import Inputs, build_index


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.parse_args(argv)
    build_index(
        Inputs(
            root=paths.ROOT,
            metrics_dir=paths.STATS,
            reports_dir=paths.REPORTS,
            training_plots_dir=paths.ROOT / "plots" / "training",
            live_dir=paths.DVCLIVE,
        )
    )


if __name__ == "__main__":
    main()
