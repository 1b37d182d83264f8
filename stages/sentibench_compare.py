"""DVC stage ``sentibench_compare``: is the distilled student better than its base? Paired
bootstrap over the same test examples (sentidistill/sentibench/compare.py).

    python -m stages.sentibench_compare      # -> metrics/sentibench/comparison.json, reports/sentibench_comparison.md
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from sentidistill import paths
from sentidistill.headline import write_stats
from sentidistill.io import write_text
from sentidistill.log import get_logger
from sentidistill.params import load_section
from sentidistill.sentibench.compare import (
    CompareParams,
    compare,
    comparison_json,
    comparison_markdown,
    load_predictions,
)
from sentidistill.sentibench.evaluate import EvalParams

log = get_logger(__name__)

EVAL_DIR = paths.DATA / "sentibench_eval"
OUT_JSON = paths.STATS / "sentibench" / "comparison.json"
OUT_MD = paths.REPORTS / "sentibench_comparison.md"


def run(params: CompareParams, eval_params: EvalParams, eval_dir: Path, out_json: Path, out_md: Path) -> dict[str, Any]:
    a = load_predictions(eval_dir / params.baseline)
    b = load_predictions(eval_dir / params.model)
    results = compare(a, b, resamples=params.resamples, seed=params.seed, datasets=params.datasets,
                      confidence=params.confidence, min_examples=params.min_examples)  # fmt: skip
    cmp = comparison_json(
        results, baseline=params.baseline, model=params.model,
        shots={d: eval_params.shots_for(d) for d in params.datasets}, resamples=params.resamples,
        confidence=params.confidence, min_examples=params.min_examples,
    )  # fmt: skip
    write_stats(out_json, cmp)
    write_text(out_md, comparison_markdown(cmp))
    m = cmp["mean"]
    log.info("%s vs %s: mean delta %s points, %d%% CI [%s, %s] over %d datasets -> %s", params.model,
             params.baseline, m["delta"], round(100 * params.confidence), m["ci_low"], m["ci_high"],
             m["n_datasets"], out_json)  # fmt: skip
    return cmp


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--eval-dir", type=Path, default=EVAL_DIR)
    ap.add_argument("--out", type=Path, default=OUT_JSON)
    ap.add_argument("--markdown", type=Path, default=OUT_MD)
    args = ap.parse_args(argv)
    params = load_section("sentibench.compare", CompareParams)
    eval_params = load_section("sentibench.eval", EvalParams)
    return run(params, eval_params, args.eval_dir, args.out, args.markdown)


if __name__ == "__main__":
    main()
