"""Stage `corpus_pools`: seeded, per-domain balanced, disjoint KnowDist/ICLDist pools.

    python -m sentidistill.stages.corpus_pools [--corpus-dir DIR] [--metrics FILE] [--corpus-metrics FILE]

Reads ``data/corpus/corpus_clean.parquet``; writes ``knowdist_pool.parquet``,
``icldist_pool.parquet``, ``stats/corpus_pools.json`` and ``stats/corpus.json``, the
accounting of the whole chain per file, domain and source:
``raw = rejected + exact_duplicates + near_duplicates + contaminated + kept``.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sentidistill.corpus.ingest import IngestParams
from sentidistill.corpus.pools import PoolsParams, run_pools
from sentidistill.params import load_section
from sentidistill.paths import CORPUS_DATA, STATS


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description="Sample the KnowDist and ICLDist text pools.")
    parser.add_argument("--corpus-dir", type=Path, default=CORPUS_DATA, help="default: data/corpus")
    parser.add_argument("--stats", "--metrics", dest="metrics", type=Path, default=STATS / "corpus_pools.json")
    parser.add_argument(
        "--corpus-stats", "--corpus-metrics", dest="corpus_metrics", type=Path, default=STATS / "corpus.json"
    )
    args = parser.parse_args(argv)
    params = load_section("corpus.pools", PoolsParams)
    ingest_params = load_section("corpus.ingest", IngestParams)
    return run_pools(params, ingest_params, args.corpus_dir, args.metrics, args.corpus_metrics)


if __name__ == "__main__":
    main()
