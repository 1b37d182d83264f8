"""Stage `sentibench_ingest`: raw SentiBench JSON -> data/sentibench/<key>.parquet.

    python -m sentidistill.stages.sentibench_ingest [--raw-dir DIR] [--out-dir DIR] [--metrics FILE] [--only KEY ...]

One validated parquet per dataset (all splits; layout in ``schemas/sentibench.py``) and
``metrics/sentibench_ingest.json`` with the row accounting per dataset and split.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sentidistill.headline import write_stats
from sentidistill.log import get_logger
from sentidistill.params import load_section
from sentidistill.paths import RAW_SENTIBENCH, SENTIBENCH_DATA, STATS, require_pulled
from sentidistill.schemas.sentibench_datasets import DATASETS
from sentidistill.sentibench.ingest import IngestParams, ingest_all

log = get_logger("sentidistill.stages.sentibench_ingest")


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description="Ingest the 12 SentiBench datasets into parquet.")
    parser.add_argument("--raw-dir", type=Path, default=RAW_SENTIBENCH, help="default: data/raw/sentibench")
    parser.add_argument("--out-dir", type=Path, default=SENTIBENCH_DATA, help="default: data/sentibench")
    parser.add_argument("--stats", "--metrics", dest="metrics", type=Path, default=STATS / "sentibench_ingest.json")
    parser.add_argument("--only", nargs="+", choices=list(DATASETS), help="ingest only these datasets")
    args = parser.parse_args(argv)

    params = load_section("sentibench.ingest", IngestParams)
    require_pulled(args.raw_dir, "SentiBench raw data")
    stats = ingest_all(args.raw_dir, args.out_dir, params, keys=args.only)
    write_stats(args.metrics, stats)
    log.info("wrote %d datasets (%d rows) to %s", stats["n_datasets"], stats["rows_kept"], args.out_dir)
    return stats


if __name__ == "__main__":
    main()
