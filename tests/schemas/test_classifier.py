"""schemas/classifier.py: the teacher-labels table (label exactly when no parse error, label_id
= index in the label set, probability vectors) and the encoder predictions."""

from __future__ import annotations

import pandera.errors
import polars as pl
import pytest

from sentidistill.schemas.classifier import PREDICTIONS, labels_schema
from tests.sentidistill.classifier.test_train import labels_table

LABELS = ("negative", "neutral", "positive")


def test_valid_table_passes():
    labels_schema(LABELS).validate(labels_table())
    labels_schema().validate(labels_table())  # without a label set


@pytest.mark.parametrize(
    "change",
    [
        pl.when(pl.col("text_id") == "t0")
        .then(pl.lit("no_json"))
        .otherwise(pl.col("parse_error"))
        .alias("parse_error"),
        pl.when(pl.col("text_id") == "t0")
        .then(pl.lit(0, dtype=pl.Int64))
        .otherwise(pl.col("label_id"))
        .alias("label_id"),
        pl.when(pl.col("text_id") == "t0").then(pl.lit("joy")).otherwise(pl.col("label")).alias("label"),
        pl.when(pl.col("text_id") == "t1")
        .then(pl.lit([0.5, 0.6, 0.1]))
        .otherwise(pl.col("soft_probs"))
        .alias("soft_probs"),
        pl.when(pl.col("text_id") == "t1").then(pl.lit([0.5, 0.5])).otherwise(pl.col("soft_probs")).alias("soft_probs"),
        pl.when(pl.col("text_id") == "t0")
        .then(pl.lit("regexp"))
        .otherwise(pl.col("parse_method"))
        .alias("parse_method"),
    ],
    ids=[
        "label_and_error",
        "wrong_label_id",
        "label_outside_set",
        "probs_do_not_sum_to_1",
        "probs_wrong_length",
        "unknown_method",
    ],
)
def test_inconsistent_rows_fail(change):
    with pytest.raises(pandera.errors.SchemaErrors):
        labels_schema(LABELS).validate(labels_table().with_columns(change), lazy=True)


def test_predictions_schema():
    ok = pl.DataFrame(
        {
            "model": ["m"],
            "dataset": ["sst2"],
            "example_id": ["test-00001"],
            "gold": ["positive"],
            "prediction": ["negative"],
            "probs": [[0.6, 0.1, 0.3]],
            "dataset_scores": [[0.6, 0.3]],
        }
    )
    PREDICTIONS.validate(ok)
    with pytest.raises(pandera.errors.SchemaErrors):
        PREDICTIONS.validate(pl.concat([ok, ok]), lazy=True)  # one row per model, dataset, example
    with pytest.raises(pandera.errors.SchemaErrors):
        PREDICTIONS.validate(ok.with_columns(pl.lit("nope").alias("dataset")), lazy=True)
