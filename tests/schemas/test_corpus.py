"""The corpus schemas reject what the stages must never write."""

from __future__ import annotations

import pandera.errors
import polars as pl
import pytest

from sentidistill.schemas.corpus import (
    CORPUS_DEDUPLICATED,
    CORPUS_DUPLICATES,
    CORPUS_NORMALIZED,
    CORPUS_REJECTED,
    POOL,
    content_id,
)


def corpus(texts: list[str]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "row": list(range(len(texts))),
            "id": [content_id(t) for t in texts],
            "domain": ["imdb"] * len(texts),
            "source": ["s"] * len(texts),
            "origin": [f"o{i}" for i in range(len(texts))],
            "file": ["f.jsonl"] * len(texts),
            "line": [i + 1 for i in range(len(texts))],
            "text": texts,
            "normalized": texts,
        }
    )


def fails(schema, df):
    with pytest.raises((pandera.errors.SchemaError, pandera.errors.SchemaErrors)):
        schema.validate(df, lazy=True)


def test_corpus_schemas():
    good = corpus(["a text", "another text", "a text"])
    CORPUS_NORMALIZED.validate(good)  # exact duplicates share an id before dedup
    fails(CORPUS_DEDUPLICATED, good)  # ... but not after
    CORPUS_DEDUPLICATED.validate(good.head(2))
    fails(CORPUS_NORMALIZED, good.with_columns(id=pl.lit("0" * 16)))  # id must be the content hash
    fails(CORPUS_NORMALIZED, good.with_columns(normalized=pl.lit("")))  # never empty
    fails(CORPUS_NORMALIZED, good.with_columns(line=pl.lit(0, dtype=pl.Int64)))
    fails(CORPUS_NORMALIZED, good.with_columns(extra=pl.lit(1)))  # strict columns


def test_duplicates_schema():
    base = (
        corpus(["x y z", "x y z"])
        .slice(1)
        .with_columns(
            kind=pl.lit("exact"),
            kept_row=pl.lit(0, dtype=pl.Int64),
            kept_id=pl.lit(content_id("x y z")),
            jaccard=pl.lit(1.0),
        )
    )
    CORPUS_DUPLICATES.validate(base)
    fails(CORPUS_DUPLICATES, base.with_columns(kind=pl.lit("fuzzy")))
    fails(CORPUS_DUPLICATES, base.with_columns(jaccard=pl.lit(0.9)))  # exact means Jaccard 1
    fails(CORPUS_DUPLICATES, base.with_columns(kept_row=pl.lit(5, dtype=pl.Int64)))  # kept row comes first


def test_rejected_and_pool_schemas():
    rejected = pl.DataFrame(
        {
            "file": ["f"],
            "line": [1],
            "origin": ["f#L1"],
            "domain": [None],
            "source": [None],
            "reason": ["bad_json"],
            "detail": ["Expecting value"],
            "snippet": ["{"],
        },
        schema_overrides={"domain": pl.String, "source": pl.String},
    )
    CORPUS_REJECTED.validate(rejected)
    fails(CORPUS_REJECTED, rejected.with_columns(reason=pl.lit("weird")))
    pool = corpus(["a text", "b text"]).with_columns(pool=pl.lit("knowdist"), pool_rank=pl.Series([0, 1]))
    POOL.validate(pool)
    fails(POOL, pool.with_columns(pool_rank=pl.lit(0, dtype=pl.Int64)))  # ranks unique
    fails(POOL, pool.with_columns(pool=pl.lit("other")))
