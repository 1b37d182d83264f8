"""Stage `classifier_report`: reports/classifier.md (encoder student vs teacher vs LLM students
vs untrained encoder, macro-F1 on the same SentiBench examples, and the encoders on the full
test splits), metrics/classifier_comparison.json, and models/sentidistill-classifier (the
trained folder with the SentiBench tables in its model card).

    python -m sentidistill.stages.classifier_report
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sentidistill.classifier.config import ClassifierEvalParams, ReportParams
from sentidistill.classifier.report import run_report
from sentidistill.models.card import CardParams
from sentidistill.params import load_section
from sentidistill.paths import DATA, MODELS, REPORTS, STATS


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description="Classifier-student comparison report and exported model.")
    parser.add_argument("--predictions", type=Path, default=DATA / "classifier" / "predictions.parquet")
    parser.add_argument("--eval-dir", type=Path, default=DATA / "sentibench_eval")
    parser.add_argument("--student", type=Path, default=MODELS / "classifier-student")
    parser.add_argument("--report", type=Path, default=REPORTS / "classifier.md")
    parser.add_argument("--stats", "--metrics", dest="metrics", type=Path, default=STATS / "classifier_comparison.json")
    parser.add_argument("--export", type=Path, default=MODELS / "sentidistill-classifier")
    args = parser.parse_args(argv)
    params = load_section("classifier.report", ReportParams)
    eval_params = load_section("classifier.eval", ClassifierEvalParams)
    return run_report(
        datasets=list(eval_params.datasets),
        compare=params.compare,
        student_name=params.student_name,
        predictions_path=args.predictions,
        eval_dir=args.eval_dir,
        eval_metrics_path=STATS / "classifier_eval.json",
        labels_metrics_path=STATS / "classifier_labels.json",
        train_metrics_path=STATS / "classifier_train.json",
        student_dir=args.student,
        report_path=args.report,
        metrics_path=args.metrics,
        export_dir=args.export,
        card=load_section("export.card", CardParams),
    )


if __name__ == "__main__":
    main()
