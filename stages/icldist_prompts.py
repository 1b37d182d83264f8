"""Stage `icldist_prompts`: sentiment/emotion ICL prompts with 1-16 teacher-labeled demos and
format diversification (Tables 11-12, Table 6), plus Super-NaturalInstructions prompts.

    python -m sentidistill.stages.icldist_prompts [--pool FILE] [--demo-labels FILE] [--natinst DIR] [--out FILE] [--metrics FILE]
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sentidistill.icldist.formats import FormatParams
from sentidistill.icldist.natinst import NatInstParams
from sentidistill.icldist.prompts import ICLPromptParams
from sentidistill.icldist.run import run_icldist_prompts
from sentidistill.params import load_section
from sentidistill.paths import CORPUS_DATA, DATA, RAW_NATINST, STATS, require_pulled


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description="Build the ICLDist prompt table.")
    parser.add_argument("--pool", type=Path, default=CORPUS_DATA / "icldist_pool.parquet")
    parser.add_argument("--demo-labels", type=Path, default=DATA / "icldist" / "demo_labels.parquet")
    parser.add_argument("--natinst", type=Path, default=RAW_NATINST)
    parser.add_argument("--out", type=Path, default=DATA / "icldist" / "icldist_prompts.parquet")
    parser.add_argument("--stats", "--metrics", dest="metrics", type=Path, default=STATS / "icldist_prompts.json")
    args = parser.parse_args(argv)
    formats = load_section("icldist.formats", FormatParams)
    params = load_section("icldist.prompts", ICLPromptParams)
    natinst = load_section("icldist.natinst", NatInstParams)
    if params.quotas()[1]:
        require_pulled(args.natinst, "Super-NaturalInstructions tasks")
    return run_icldist_prompts(
        formats, params, natinst, args.pool, args.demo_labels, args.natinst, args.out, args.metrics
    )


if __name__ == "__main__":
    main()
