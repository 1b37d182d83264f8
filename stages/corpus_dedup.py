"""Stage `corpus_dedup`: exact and MinHash/LSH near-duplicate removal.

    python -m sentidistill.stages.corpus_dedup [--corpus-dir DIR] [--metrics FILE]

Reads ``data/corpus/corpus_normalized.parquet``; writes ``corpus_deduplicated.parquet``
(kept rows), ``corpus_duplicates.parquet`` (removed rows with the kept row's id and the
estimated Jaccard) and ``stats/corpus_dedup.json``.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sentidistill.corpus.dedup import DedupParams, run_dedup
from sentidistill.params import load_section
from sentidistill.paths import CORPUS_DATA, STATS


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description="Remove exact and near-duplicate corpus texts.")
    parser.add_argument("--corpus-dir", type=Path, default=CORPUS_DATA, help="default: data/corpus")
    parser.add_argument("--stats", "--metrics", dest="metrics", type=Path, default=STATS / "corpus_dedup.json")
    args = parser.parse_args(argv)
    params = load_section("corpus.dedup", DedupParams)
    return run_dedup(params, args.corpus_dir, args.metrics)


if __name__ == "__main__":
    main()
