"""Exact and near-duplicate removal (the paper dedups with simhash; we use MinHash + LSH).

1. **Exact**: rows whose normalized text equals an earlier row's are removed
   (``kind = exact``, Jaccard 1.0, same ``id``).
2. **Near**: word-shingle MinHash signatures (:mod:`sentidistill.corpus.minhash`), then
   a greedy pass in corpus order: a row whose estimated Jaccard similarity with an
   already *kept* row reaches the threshold is removed and points at that row
   (``kind = near``, ``kept_row``/``kept_id``, ``jaccard``); otherwise it is kept and
   joins the :class:`datasketch.MinHashLSH` index. The first row of each cluster is
   kept, and every removed row is within the threshold of the row it names (no chains).

Scaling: signatures are computed batch by batch and reduced to LSH band keys
(``bands × 8`` bytes per text); only rows that share a band key with another row can
ever be LSH candidates, so only those are re-sketched and go through the LSH index.
On the raw corpus that is well under 1% of the texts.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from sentidistill.corpus.accounting import account
from sentidistill.corpus.artifacts import CORPUS_COLUMNS, DEDUPLICATED, DUPLICATE_COLUMNS, DUPLICATES, NORMALIZED
from sentidistill.corpus.minhash import MinHashParams, band_keys, estimated_jaccard, shares_band, sketch
from sentidistill.headline import write_stats
from sentidistill.io import read_parquet, write_parquet
from sentidistill.log import get_logger
from sentidistill.params import StrictModel
from sentidistill.schemas.corpus import CORPUS_DEDUPLICATED, CORPUS_DUPLICATES, CORPUS_NORMALIZED

log = get_logger(__name__)


class DedupParams(StrictModel):
    """``corpus.dedup`` in params.yaml."""

    minhash: MinHashParams


def exact_duplicates(corpus: pl.DataFrame) -> pl.Series:
    """For each row, the position of the first row with the same normalized text (itself if first)."""
    return (
        corpus.select("normalized")
        .with_row_index("pos")
        .select(pl.col("pos").first().over("normalized").cast(pl.Int64))
        .to_series()
    )


def near_duplicates(texts: pl.Series, params: MinHashParams) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """Greedy MinHash/LSH near-duplicate detection over ``texts`` in order.

    Returns ``dup_of`` (position of the kept row each row duplicates, -1 if kept),
    the estimated Jaccard with that row (NaN if kept) and LSH facts for the stats.
    """
    n = texts.len()
    hasher = params.hasher()
    lsh = params.lsh()
    keys = np.empty((n, lsh.b), dtype=np.uint64)
    has_shingles = np.zeros(n, dtype=bool)
    for start, sig, counts in sketch(texts, hasher, params.shingle_size, params.batch_texts, desc="dedup signatures"):
        keys[start : start + len(sig)] = band_keys(sig, lsh.hashranges)
        has_shingles[start : start + len(sig)] = counts > 0
    candidates = np.flatnonzero(shares_band(keys) & has_shingles)
    del keys
    # Only candidates can collide in the LSH index: re-sketch just those and run the greedy pass.
    cand_sig = np.empty((len(candidates), params.num_perm), dtype=np.uint32)
    cand_texts = texts.gather(candidates)
    for start, sig, _ in sketch(cand_texts, hasher, params.shingle_size, params.batch_texts, desc="dedup candidates"):
        cand_sig[start : start + len(sig)] = sig
    dup_of = np.full(n, -1, dtype=np.int64)
    jaccard = np.full(n, np.nan, dtype=np.float64)
    for local, row in enumerate(candidates):
        m = hasher.lean(cand_sig[local])
        hits = lsh.query(m)
        if hits:
            hit_local = np.sort(np.fromiter(hits, dtype=np.int64, count=len(hits)))
            sims = estimated_jaccard(cand_sig[local], cand_sig[hit_local])
            best = int(np.argmax(sims))  # highest similarity; ties -> earliest row
            if sims[best] >= params.threshold:
                dup_of[row] = candidates[hit_local[best]]
                jaccard[row] = float(sims[best])
                continue
        lsh.insert(local, m, check_duplication=False)
    info = {
        "lsh_bands": lsh.b,
        "lsh_rows_per_band": lsh.r,
        "texts_without_words": int(n - has_shingles.sum()),
        "lsh_candidates": len(candidates),
    }
    return dup_of, jaccard, info


def deduplicate(corpus: pl.DataFrame, params: DedupParams) -> tuple[pl.DataFrame, pl.DataFrame, dict[str, Any]]:
    """(kept rows, removed duplicates, stats) for a normalized corpus sorted by ``row``."""
    first = exact_duplicates(corpus)
    is_exact = (first.to_numpy() != np.arange(corpus.height)).astype(bool)
    exact = corpus.filter(is_exact).with_columns(
        kind=pl.lit("exact"),
        kept_row=corpus["row"].gather(first.filter(is_exact)),
        kept_id=pl.col("id"),
        jaccard=pl.lit(1.0, dtype=pl.Float64),
    )
    distinct = corpus.filter(~is_exact)
    log.info("exact duplicates: %d of %d rows", exact.height, corpus.height)
    dup_of, jac, info = near_duplicates(distinct["normalized"], params.minhash)
    is_near = dup_of >= 0
    kept_pos = dup_of[is_near]
    near = distinct.filter(is_near).with_columns(
        kind=pl.lit("near"),
        kept_row=distinct["row"].gather(kept_pos),
        kept_id=distinct["id"].gather(kept_pos),
        jaccard=pl.Series(jac[is_near], dtype=pl.Float64),
    )
    kept = distinct.filter(~is_near)
    log.info("near duplicates: %d (LSH candidates %d); kept %d", near.height, info["lsh_candidates"], kept.height)
    duplicates = pl.concat([exact, near]).sort("row").select(DUPLICATE_COLUMNS)
    table = account({"exact_duplicates": exact, "near_duplicates": near, "kept": kept}, input_name="in", inputs=corpus)
    near_j = near["jaccard"]
    stats = {
        "stage": "corpus_dedup",
        **table,
        **info,
        "near_jaccard": {
            "min": round(float(near_j.min()), 4) if near.height else None,
            "median": round(float(near_j.median()), 4) if near.height else None,
        },
        "cross_domain_near_duplicates": near.select("domain", "kept_row")
        .join(corpus.select(kept_row="row", kept_domain="domain"), on="kept_row")
        .filter(pl.col("domain") != pl.col("kept_domain"))
        .height,
    }
    return kept.select(CORPUS_COLUMNS), duplicates, stats


def run_dedup(params: DedupParams, corpus_dir: Path, metrics: Path) -> dict[str, Any]:
    """Stage corpus_dedup: read the normalized corpus, write kept rows, duplicates and stats."""
    t0 = time.perf_counter()
    corpus = read_parquet(corpus_dir / NORMALIZED, CORPUS_NORMALIZED).sort("row")
    kept, duplicates, stats = deduplicate(corpus, params)
    write_parquet(kept, corpus_dir / DEDUPLICATED, CORPUS_DEDUPLICATED)
    write_parquet(duplicates, corpus_dir / DUPLICATES, CORPUS_DUPLICATES)
    write_stats(metrics, stats)
    log.info("dedup: %d kept, %d removed in %.1fs", kept.height, duplicates.height, time.perf_counter() - t0)
    return stats
