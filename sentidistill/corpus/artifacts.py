"""File names and column orders of the corpus artifacts (shared by the stages, so that no
stage imports another stage's code just for a constant). Columns and value sets come from
``schemas/corpus.py``, the contract.

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

from sentidistill.schemas.columns import column_names
from sentidistill.schemas.corpus import (
    CORPUS_CONTAMINATED,
    CORPUS_DUPLICATES,
    CORPUS_NORMALIZED,
    CORPUS_REJECTED,
    POOL,
)

NORMALIZED = "corpus_normalized.parquet"
REJECTED = "corpus_rejected.parquet"
DEDUPLICATED = "corpus_deduplicated.parquet"
DUPLICATES = "corpus_duplicates.parquet"
CLEAN = "corpus_clean.parquet"
CONTAMINATED = "corpus_contaminated.parquet"
POOL_FILES = {"knowdist": "knowdist_pool.parquet", "icldist": "icldist_pool.parquet"}

#: Column order of the corpus artifacts (normalized, deduplicated, clean); the others extend it.
CORPUS_COLUMNS = column_names(CORPUS_NORMALIZED)
REJECTED_COLUMNS = column_names(CORPUS_REJECTED)
DUPLICATE_COLUMNS = column_names(CORPUS_DUPLICATES)
CONTAMINATED_COLUMNS = column_names(CORPUS_CONTAMINATED)
POOL_COLUMNS = column_names(POOL)
