"""Schema of ``data/sentibench_eval/<entry>/predictions.parquet``: one row per (dataset, seed, example)."""

from __future__ import annotations

from enum import StrEnum

import pandera.polars as pa
import polars as pl

from sentidistill.schemas.sentibench_datasets import DATASETS


class ParseStatus(StrEnum):
    OK = "ok"
    REPAIRED = "repaired"
    PARTIAL = "partial"
    EMPTY_LIST = "empty_list"
    UNPARSEABLE = "unparseable"
    #: ``parser: official`` only: the authors' scorer would crash on this answer (a
    #: non-string field); scored as unparseable (no predictions) and counted apart
    SCORER_CRASH = "scorer_crash"


#: How an answer was scored (sentidistill/sentibench/evaluate.py).
SCORINGS = ("first_token", "full_loglik", "generate")

PredictionsSchema = pa.DataFrameSchema(
    {
        "model": pa.Column(pl.String, pa.Check.str_length(min_value=1)),
        "dataset": pa.Column(pl.String, pa.Check.isin(list(DATASETS))),
        "seed": pa.Column(pl.Int64),
        "example_id": pa.Column(pl.String, pa.Check.str_length(min_value=1)),
        "prompt_hash": pa.Column(pl.String, pa.Check.str_length(16, 16)),
        "n_prompt_tokens": pa.Column(pl.Int64, pa.Check.gt(0)),
        "scoring": pa.Column(pl.String, pa.Check.isin(list(SCORINGS))),
        "raw_output": pa.Column(pl.String),
        # label scores (logits or log-likelihoods) in the dataset's label order; null for generation
        "label_scores": pa.Column(pl.List(pl.Float64), nullable=True),
        "prediction": pa.Column(pl.String),
        "gold": pa.Column(pl.String),
        "parse_status": pa.Column(pl.String, pa.Check.isin([s.value for s in ParseStatus])),
    },
    unique=["model", "dataset", "seed", "example_id"],
    strict=True,
    ordered=True,
)
