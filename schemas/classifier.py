"""pandera.polars schemas of the classifier-student artifacts.

================================================  =======================================
artifact                                          schema
================================================  =======================================
data/classifier/teacher_labels.parquet            :func:`labels_schema` (one row per text)
data/classifier/predictions.parquet               :data:`PREDICTIONS` (encoders on SentiBench)
================================================  =======================================

Teacher labels: ``response`` is the teacher's raw answer (kept whether or not it parsed),
``label``/``label_id`` the parsed label (null exactly when ``parse_error`` says why),
``rationale`` the parsed reason (may be null: a missing rationale is not an error),
``soft_probs`` the teacher's label probabilities in label-id order (null without them).
"""

from __future__ import annotations

import functools

import pandera.polars as pa
import polars as pl

from sentidistill.schemas.sentibench_datasets import DATASETS
from sentidistill.schemas.teacher import FINISH_REASONS, FLAGS

#: Why a teacher answer gave no label (sentidistill/classifier/parse.py).
PARSE_ERRORS = ("empty", "no_json", "bad_json", "missing_label", "unknown_label")
#: How a label was read.
#: label_scores: no answer to parse, the argmax of the teacher's label scores (classifier.labels.method: score)
PARSE_METHODS = ("json", "lenient", "regex", "label_scores")

_HEX16 = pa.Check.str_matches(r"^[0-9a-f]{16}$")
_SHA256 = pa.Check.str_matches(r"^[0-9a-f]{64}$")
#: tolerance of a probability vector's sum (probabilities are stored rounded to 6 decimals)
PROB_SUM_TOL = 1e-4


def _non_empty(data: pa.PolarsData) -> pl.LazyFrame:
    return data.lazyframe.select(pl.col(data.key).str.strip_chars().str.len_chars() > 0)


NON_EMPTY = pa.Check(_non_empty, name="non_empty", error="empty string")


def _label_iff_no_error(data: pa.PolarsData) -> pl.LazyFrame:
    return data.lazyframe.select(
        (
            (pl.col("label").is_null() == pl.col("parse_error").is_not_null())
            & (pl.col("label").is_null() == pl.col("label_id").is_null())
            & (pl.col("label").is_null() == pl.col("parse_method").is_null())
        ).alias("label_iff_no_error")
    )


def _probs_ok(n_labels: int | None):
    def check(data: pa.PolarsData) -> pl.LazyFrame:
        col = pl.col(data.key)
        ok = col.is_null() | (
            ((col.list.len() == n_labels) if n_labels is not None else pl.lit(True))
            & ((col.list.sum() - 1.0).abs() <= PROB_SUM_TOL)
            & (col.list.min() >= 0.0)
        )
        return data.lazyframe.select(ok.alias("probs_ok"))

    return pa.Check(check, name="probability_vector", error=f"a probability vector (length {n_labels}, sums to 1)")


def labels_schema(labels: tuple[str, ...] | list[str] | None = None) -> pa.DataFrameSchema:
    """Schema of the teacher-labels table; with ``labels`` the label column is checked against
    that set (in label-id order)."""
    return _labels_schema(tuple(labels) if labels is not None else None)


@functools.cache
def _labels_schema(labels: tuple[str, ...] | None) -> pa.DataFrameSchema:
    label_checks = [pa.Check.isin(list(labels))] if labels is not None else []
    id_checks = [pa.Check.in_range(0, len(labels) - 1)] if labels is not None else [pa.Check.ge(0)]
    checks = [
        pa.Check(
            _label_iff_no_error,
            name="label_iff_no_parse_error",
            error="label, label_id and parse_method are null exactly when parse_error is set",
        )
    ]
    if labels is not None:
        lab = list(labels)
        checks.append(
            pa.Check(
                lambda d: d.lazyframe.select(
                    (
                        pl.col("label").is_null()
                        | (
                            pl.col("label").replace_strict(
                                lab, list(range(len(lab))), default=-1, return_dtype=pl.Int64
                            )
                            == pl.col("label_id")
                        )
                    ).alias("id")
                ),
                name="label_id_matches_label",
                error=f"label_id must be the index of label in {lab}",
            )
        )
    return pa.DataFrameSchema(
        {
            "prompt_id": pa.Column(pl.Utf8, _HEX16, unique=True),
            "text_id": pa.Column(pl.Utf8, NON_EMPTY, unique=True),
            "domain": pa.Column(pl.Utf8, NON_EMPTY),
            "text": pa.Column(pl.Utf8, NON_EMPTY),
            "user_message": pa.Column(pl.Utf8, NON_EMPTY),
            "key": pa.Column(pl.Utf8, _SHA256),
            "engine": pa.Column(pl.Utf8, NON_EMPTY),  # teacher identity label (backend:model@weights)
            "response": pa.Column(pl.Utf8),
            "finish_reason": pa.Column(pl.Utf8, pa.Check.isin(list(FINISH_REASONS))),
            "n_completion_tokens": pa.Column(pl.Int64, pa.Check.ge(0)),
            "flag": pa.Column(pl.Utf8, pa.Check.isin(list(FLAGS)), nullable=True),
            "label": pa.Column(pl.Utf8, label_checks, nullable=True),
            "label_id": pa.Column(pl.Int64, id_checks, nullable=True),
            "raw_label": pa.Column(pl.Utf8, nullable=True),
            "rationale": pa.Column(pl.Utf8, nullable=True),
            "parse_method": pa.Column(pl.Utf8, pa.Check.isin(list(PARSE_METHODS)), nullable=True),
            "parse_error": pa.Column(pl.Utf8, pa.Check.isin(list(PARSE_ERRORS)), nullable=True),
            "soft_probs": pa.Column(pl.List(pl.Float64), _probs_ok(len(labels) if labels else None), nullable=True),
        },
        checks=checks,
        strict=True,
        ordered=True,
        name="classifier_teacher_labels",
    )


#: Encoder predictions on SentiBench test examples (one row per model, dataset, example).
PREDICTIONS = pa.DataFrameSchema(
    {
        "model": pa.Column(pl.Utf8, NON_EMPTY),
        "dataset": pa.Column(pl.Utf8, pa.Check.isin(list(DATASETS))),
        "example_id": pa.Column(pl.Utf8, NON_EMPTY),
        "gold": pa.Column(pl.Utf8, NON_EMPTY),
        "prediction": pa.Column(pl.Utf8, NON_EMPTY),
        # the classifier's own probabilities, in its label-id order (before the dataset mapping)
        "probs": pa.Column(pl.List(pl.Float64), _probs_ok(None)),
        # the dataset labels' scores after the mapping (summed over classifier labels mapped to each)
        "dataset_scores": pa.Column(pl.List(pl.Float64)),
    },
    unique=["model", "dataset", "example_id"],
    strict=True,
    ordered=True,
    name="classifier_predictions",
)
