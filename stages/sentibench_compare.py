"""DVC stage ``sentibench_compare``: is the distilled student better than its base? Paired
bootstrap over the same test examples (sentidistill/sentibench/compare.py).

    python -m sentidistill.stages.sentibench_compare      # -> metrics/sentibench/comparison.json, reports/sentibench_comparison.md
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from sentidistill import paths
from sentidistill.params import load_section
from sentidistill.sentibench.compare import CompareParams, write_comparison
from sentidistill.sentibench.evaluate import EvalParams

EVAL_DIR = paths.DATA / "sentibench_eval"
OUT_JSON = paths.STATS / "sentibench" / "comparison.json"
OUT_MD = paths.REPORTS / "sentibench_comparison.md"


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--eval-dir", type=Path, default=EVAL_DIR)
    ap.add_argument("--out", type=Path, default=OUT_JSON)
    ap.add_argument("--markdown", type=Path, default=OUT_MD)
    args = ap.parse_args(argv)
    params = load_section("sentibench.compare", CompareParams)
    eval_params = load_section("sentibench.eval", EvalParams)
    shots = {d: eval_params.shots_for(d) for d in params.datasets}
    return write_comparison(params, shots, args.eval_dir, args.out, args.markdown)


if __name__ == "__main__":
    main()
