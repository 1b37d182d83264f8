"""Stage `corpus_decontaminate`: drop corpus texts that overlap SentiBench texts.

    python -m sentidistill.stages.corpus_decontaminate [--corpus-dir DIR] [--metrics FILE]

Reads ``data/corpus/corpus_deduplicated.parquet`` and the raw SentiBench JSON of the
splits in ``corpus.decontaminate.splits``; writes ``corpus_clean.parquet``,
``corpus_contaminated.parquet`` (with the benchmark dataset/split/row each text hit)
and ``metrics/corpus_decontaminate.json``.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sentidistill.corpus.decontaminate import DecontaminateParams, run_decontaminate
from sentidistill.params import load_section
from sentidistill.paths import CORPUS_DATA, STATS


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description="Decontaminate the corpus against SentiBench.")
    parser.add_argument("--corpus-dir", type=Path, default=CORPUS_DATA, help="default: data/corpus")
    parser.add_argument("--stats", "--metrics", dest="metrics", type=Path, default=STATS / "corpus_decontaminate.json")
    args = parser.parse_args(argv)
    params = load_section("corpus.decontaminate", DecontaminateParams)
    return run_decontaminate(params, args.corpus_dir, args.metrics)


if __name__ == "__main__":
    main()
