"""pandera.polars schemas of the distillation corpus artifacts under ``data/corpus/``.

===============================  ==============================================================
artifact                         schema
===============================  ==============================================================
corpus_normalized.parquet        :data:`CORPUS_NORMALIZED` (ids may repeat: exact duplicates)
corpus_rejected.parquet          :data:`CORPUS_REJECTED`
corpus_deduplicated.parquet      :data:`CORPUS_DEDUPLICATED` (ids unique)
corpus_duplicates.parquet        :data:`CORPUS_DUPLICATES`
corpus_clean.parquet             :data:`CORPUS_CLEAN` (ids unique)
corpus_contaminated.parquet      :data:`CORPUS_CONTAMINATED`
knowdist_pool.parquet,           :data:`POOL`
icldist_pool.parquet
===============================  ==============================================================

Corpus columns (every artifact but the rejected rows starts with them):

==========  ====================================================================
row         0-based position in the normalized corpus (source order, then line)
id          BLAKE2b-64 of ``normalized`` as 16 hex chars (stable content hash)
domain      imdb | yelp | amazon | twitter | any domain an extra source adds
source      sub-source inside a file (``aclimdb_unsup``, ``blitzer_mdsd``, ...)
origin      where the raw text came from (``repository:path#locator``)
file, line  the JSONL file as listed in params.yaml and the 1-based line in it
text        the raw text, verbatim
normalized  the text after per-domain normalization (never empty)
==========  ====================================================================
"""

from __future__ import annotations

import hashlib

import pandera.polars as pa
import polars as pl

#: Why a raw line was rejected, in the order the checks run (see sentidistill/corpus/ingest.py).
REJECT_REASONS = (
    "invalid_utf8",
    "bad_json",
    "not_object",
    "missing_text",
    "non_string_text",
    "missing_domain",
    "empty",
    "too_short",
    "too_long",
)
DUPLICATE_KINDS = ("exact", "near")
MATCH_METHODS = ("exact", "ngram", "minhash")
POOL_NAMES = ("knowdist", "icldist")

#: Bytes of the content-hash id (16 hex chars: a collision needs ~4e9 distinct texts).
ID_BYTES = 8


def content_id(normalized: str) -> str:
    """Stable id of a text: BLAKE2b of its normalized form (same text, same id, on every machine)."""
    return hashlib.blake2b(normalized.encode("utf-8"), digest_size=ID_BYTES).hexdigest()


def _non_empty(data: pa.PolarsData) -> pl.LazyFrame:
    return data.lazyframe.select(pl.col(data.key).str.len_chars() > 0)


NON_EMPTY = pa.Check(_non_empty, name="non_empty", error="empty string")
ID_FORMAT = pa.Check.str_matches(rf"^[0-9a-f]{{{2 * ID_BYTES}}}$")


def _id_is_content_hash(data: pa.PolarsData) -> pl.LazyFrame:
    return data.lazyframe.select(
        (pl.col("id") == pl.col("normalized").map_elements(content_id, return_dtype=pl.String)).alias("id_ok")
    )


ID_IS_CONTENT_HASH = pa.Check(
    _id_is_content_hash, name="id_is_content_hash", error="id must be the content hash of normalized"
)


def _corpus_columns() -> dict[str, pa.Column]:
    return {
        "row": pa.Column(pl.Int64, pa.Check.ge(0), unique=True),
        "id": pa.Column(pl.Utf8, ID_FORMAT),
        "domain": pa.Column(pl.Utf8, NON_EMPTY),
        "source": pa.Column(pl.Utf8, NON_EMPTY),
        "origin": pa.Column(pl.Utf8, NON_EMPTY),
        "file": pa.Column(pl.Utf8, NON_EMPTY),
        "line": pa.Column(pl.Int64, pa.Check.ge(1)),
        "text": pa.Column(pl.Utf8),
        "normalized": pa.Column(pl.Utf8, NON_EMPTY),
    }


def _corpus_schema(
    name: str,
    *,
    unique_ids: bool,
    extra: dict[str, pa.Column] | None = None,
    checks: list[pa.Check] | None = None,
) -> pa.DataFrameSchema:
    cols = _corpus_columns()
    if unique_ids:
        cols["id"] = pa.Column(pl.Utf8, ID_FORMAT, unique=True)
    cols.update(extra or {})
    return pa.DataFrameSchema(
        cols,
        checks=[ID_IS_CONTENT_HASH, *(checks or [])],
        unique=["file", "line"],
        strict=True,
        ordered=True,
        name=name,
    )


CORPUS_NORMALIZED = _corpus_schema("corpus_normalized", unique_ids=False)
CORPUS_DEDUPLICATED = _corpus_schema("corpus_deduplicated", unique_ids=True)
CORPUS_CLEAN = _corpus_schema("corpus_clean", unique_ids=True)

CORPUS_REJECTED = pa.DataFrameSchema(
    {
        "file": pa.Column(pl.Utf8, NON_EMPTY),
        "line": pa.Column(pl.Int64, pa.Check.ge(1)),
        "origin": pa.Column(pl.Utf8, NON_EMPTY),
        "domain": pa.Column(pl.Utf8, nullable=True),
        "source": pa.Column(pl.Utf8, nullable=True),
        "reason": pa.Column(pl.Utf8, pa.Check.isin(list(REJECT_REASONS))),
        "detail": pa.Column(pl.Utf8, NON_EMPTY),
        "snippet": pa.Column(pl.Utf8),
    },
    unique=["file", "line"],
    strict=True,
    ordered=True,
    name="corpus_rejected",
)


def _exact_means_same_text(data: pa.PolarsData) -> pl.LazyFrame:
    exact = pl.col("kind") == "exact"
    return data.lazyframe.select(
        (~exact | ((pl.col("kept_id") == pl.col("id")) & (pl.col("jaccard") == 1.0))).alias("exact_ok")
    )


def _kept_row_earlier(data: pa.PolarsData) -> pl.LazyFrame:
    return data.lazyframe.select((pl.col("kept_row") < pl.col("row")).alias("kept_first"))


CORPUS_DUPLICATES = _corpus_schema(
    "corpus_duplicates",
    unique_ids=False,
    extra={
        "kind": pa.Column(pl.Utf8, pa.Check.isin(list(DUPLICATE_KINDS))),
        "kept_row": pa.Column(pl.Int64, pa.Check.ge(0)),
        "kept_id": pa.Column(pl.Utf8, ID_FORMAT),
        "jaccard": pa.Column(pl.Float64, pa.Check.in_range(0.0, 1.0)),
    },
    checks=[
        pa.Check(
            _exact_means_same_text,
            name="exact_duplicate_same_id",
            error="an exact duplicate has the kept row's id and jaccard 1.0",
        ),
        pa.Check(_kept_row_earlier, name="kept_row_first", error="the kept row comes first in corpus order"),
    ],
)

CORPUS_CONTAMINATED = _corpus_schema(
    "corpus_contaminated",
    unique_ids=True,
    extra={
        "method": pa.Column(pl.Utf8, pa.Check.isin(list(MATCH_METHODS))),
        "bench_dataset": pa.Column(pl.Utf8, NON_EMPTY),
        "bench_split": pa.Column(pl.Utf8, NON_EMPTY),
        "bench_index": pa.Column(pl.Int64, pa.Check.ge(0)),
        "bench_sentence": pa.Column(pl.Utf8),
        "similarity": pa.Column(pl.Float64, pa.Check.in_range(0.0, 1.0)),
    },
)

POOL = _corpus_schema(
    "corpus_pool",
    unique_ids=True,
    extra={
        "pool": pa.Column(pl.Utf8, pa.Check.isin(list(POOL_NAMES))),
        "pool_rank": pa.Column(pl.Int64, pa.Check.ge(0), unique=True),
    },
)
