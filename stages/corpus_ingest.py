"""Stage `corpus_ingest`: raw unlabeled JSONL -> normalized corpus + rejected rows.

    python -m sentidistill.stages.corpus_ingest [--out-dir DIR] [--metrics FILE]

Reads every file under ``corpus.ingest.sources`` (params.yaml), normalizes per domain and
writes ``data/corpus/corpus_normalized.parquet``, ``data/corpus/corpus_rejected.parquet``
(schemas in ``schemas/corpus.py``) and ``metrics/corpus_ingest.json``.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sentidistill.corpus.ingest import IngestParams, run_ingest
from sentidistill.params import load_section
from sentidistill.paths import CORPUS_DATA, STATS


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description="Ingest and normalize the unlabeled distillation corpus.")
    parser.add_argument("--out-dir", type=Path, default=CORPUS_DATA, help="default: data/corpus")
    parser.add_argument("--stats", "--metrics", dest="metrics", type=Path, default=STATS / "corpus_ingest.json")
    args = parser.parse_args(argv)
    params = load_section("corpus.ingest", IngestParams)
    return run_ingest(params, args.out_dir, args.metrics)


if __name__ == "__main__":
    main()
