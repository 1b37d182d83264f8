"""Stage `classifier_eval`: the trained encoder and the untrained encoder (seeded random head)
on the SentiBench polarity test splits (classifier.eval.datasets, explicit label mapping).

    python -m sentidistill.stages.classifier_eval [--model DIR] [--out FILE] [--metrics FILE]
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sentidistill.classifier.config import ClassifierEvalParams, TrainParams
from sentidistill.classifier.evaluate import run_eval
from sentidistill.classifier.train import resolve_base_model
from sentidistill.params import load_section
from sentidistill.paths import DATA, MODELS, SENTIBENCH_DATA, STATS


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description="Encoders (trained, untrained) on the SentiBench polarity test sets.")
    parser.add_argument("--model", type=Path, default=MODELS / "classifier-student")
    parser.add_argument("--data-dir", type=Path, default=SENTIBENCH_DATA)
    parser.add_argument("--out", type=Path, default=DATA / "classifier" / "predictions.parquet")
    parser.add_argument("--stats", "--metrics", dest="metrics", type=Path, default=STATS / "classifier_eval.json")
    args = parser.parse_args(argv)
    params = load_section("classifier.eval", ClassifierEvalParams)
    base = resolve_base_model(load_section("classifier.train", TrainParams).base_model)
    return run_eval(
        params,
        student_dir=args.model,
        base_model=base,
        data_dir=args.data_dir,
        out_path=args.out,
        metrics_path=args.metrics,
    )


if __name__ == "__main__":
    main()
