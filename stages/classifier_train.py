"""Stage `classifier_train`: fine-tune the encoder (classifier.train.base_model, default
all-MiniLM-L6-v2) on the teacher's labels (hard or soft), early stopping on a held-out split
of them; saves a standard HF folder (AutoModelForSequenceClassification) + model card.

    python -m sentidistill.stages.classifier_train [--labels FILE] [--out DIR] [--metrics FILE]
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sentidistill.classifier.config import LabelParams, TrainParams
from sentidistill.classifier.train import train_classifier
from sentidistill.params import load_section
from sentidistill.paths import DATA, DVCLIVE, MODELS, ROOT, STATS


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description="Fine-tune the classifier student on the teacher's labels.")
    parser.add_argument("--labels", type=Path, default=DATA / "classifier" / "teacher_labels.parquet")
    parser.add_argument("--out", type=Path, default=MODELS / "classifier-student")
    parser.add_argument("--stats", "--metrics", dest="metrics", type=Path, default=STATS / "classifier_train.json")
    parser.add_argument("--work-dir", type=Path, default=ROOT / ".cache" / "classifier")
    parser.add_argument(
        "--live-dir", type=Path, default=DVCLIVE / "classifier", help="DVCLive log (classifier.train.report_to)"
    )
    args = parser.parse_args(argv)
    params = load_section("classifier.train", TrainParams)
    label_params = load_section("classifier.labels", LabelParams)
    return train_classifier(
        args.labels,
        params,
        label_params,
        out_dir=args.out,
        metrics_path=args.metrics,
        work_dir=args.work_dir,
        live_dir=args.live_dir,
    )


if __name__ == "__main__":
    main()
