"""Names, columns and value sets of the corpus artifacts (shared by the stages and
``schemas/corpus.py``, so that no stage imports another stage's code just for a constant).

=====================  ==============================================  =================================
stage                  writes (under ``data/corpus/``)                 stats
=====================  ==============================================  =================================
corpus_ingest          corpus_normalized, corpus_rejected              stats/corpus_ingest.json
corpus_dedup           corpus_deduplicated, corpus_duplicates          stats/corpus_dedup.json
corpus_decontaminate   corpus_clean, corpus_contaminated               stats/corpus_decontaminate.json
corpus_pools           knowdist_pool, icldist_pool                     stats/corpus_pools.json,
                                                                       stats/corpus.json (whole chain)
=====================  ==============================================  =================================
"""

from __future__ import annotations

import hashlib

NORMALIZED = "corpus_normalized.parquet"
REJECTED = "corpus_rejected.parquet"
DEDUPLICATED = "corpus_deduplicated.parquet"
DUPLICATES = "corpus_duplicates.parquet"
CLEAN = "corpus_clean.parquet"
CONTAMINATED = "corpus_contaminated.parquet"
POOL_FILES = {"knowdist": "knowdist_pool.parquet", "icldist": "icldist_pool.parquet"}

#: Column order of the corpus artifacts (normalized, deduplicated, clean); the others extend it.
CORPUS_COLUMNS = ("row", "id", "domain", "source", "origin", "file", "line", "text", "normalized")
REJECTED_COLUMNS = ("file", "line", "origin", "domain", "source", "reason", "detail", "snippet")
DUPLICATE_COLUMNS = (*CORPUS_COLUMNS, "kind", "kept_row", "kept_id", "jaccard")
CONTAMINATED_COLUMNS = (
    *CORPUS_COLUMNS,
    "method",
    "bench_dataset",
    "bench_split",
    "bench_index",
    "bench_sentence",
    "similarity",
)
POOL_COLUMNS = (*CORPUS_COLUMNS, "pool", "pool_rank")

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
