"""Stage `knowdist_prompts`: analyzing/rewriting prompts (Tables 9-10) for KnowDist pool texts.

python -m sentidistill.stages.knowdist_prompts [--pool FILE] [--out FILE] [--metrics FILE]
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sentidistill.knowdist.prompts import KnowDistPromptParams
from sentidistill.knowdist.run import run_knowdist_prompts
from sentidistill.params import load_section
from sentidistill.paths import CORPUS_DATA, DATA, STATS


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description="Build the KnowDist prompt table.")
    parser.add_argument("--pool", type=Path, default=CORPUS_DATA / "knowdist_pool.parquet")
    parser.add_argument("--out", type=Path, default=DATA / "knowdist" / "knowdist_prompts.parquet")
    parser.add_argument("--stats", "--metrics", dest="metrics", type=Path, default=STATS / "knowdist_prompts.json")
    args = parser.parse_args(argv)
    params = load_section("knowdist.prompts", KnowDistPromptParams)
    return run_knowdist_prompts(params, args.pool, args.out, args.metrics)


if __name__ == "__main__":
    main()
