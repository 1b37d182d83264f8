"""The four corpus stages as functions over explicit paths (the ``stages.corpus_*`` modules
are thin wrappers; tests call these on temporary directories).

=====================  ==============================================  ===========================
stage                  writes (under ``data/corpus/``)                 stats
=====================  ==============================================  ===========================
corpus_ingest          corpus_normalized, corpus_rejected              metrics/corpus_ingest.json
corpus_dedup           corpus_deduplicated, corpus_duplicates          metrics/corpus_dedup.json
corpus_decontaminate   corpus_clean, corpus_contaminated               metrics/corpus_decontaminate.json
corpus_pools           knowdist_pool, icldist_pool                     metrics/corpus_pools.json,
                                                                       metrics/corpus.json
=====================  ==============================================  ===========================
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import polars as pl

from schemas.corpus import (
    CORPUS_CLEAN,
    CORPUS_CONTAMINATED,
    CORPUS_DEDUPLICATED,
    CORPUS_DUPLICATES,
    CORPUS_NORMALIZED,
    CORPUS_REJECTED,
    POOL,
)
from sentidistill.corpus.accounting import corpus_accounting
from sentidistill.corpus.decontaminate import DecontaminateParams, decontaminate
from sentidistill.corpus.dedup import DedupParams, deduplicate
from sentidistill.corpus.ingest import IngestParams, count_lines, ingest, resolve
from sentidistill.corpus.pools import PoolsParams, sample_pools
from sentidistill.io import read_parquet, write_json, write_parquet
from sentidistill.log import get_logger
from sentidistill.paths import ROOT, require_pulled

log = get_logger(__name__)

NORMALIZED = "corpus_normalized.parquet"
REJECTED = "corpus_rejected.parquet"
DEDUPLICATED = "corpus_deduplicated.parquet"
DUPLICATES = "corpus_duplicates.parquet"
CLEAN = "corpus_clean.parquet"
CONTAMINATED = "corpus_contaminated.parquet"
POOL_FILES = {"knowdist": "knowdist_pool.parquet", "icldist": "icldist_pool.parquet"}


def _require_sources(params: IngestParams, base_dir: Path) -> None:
    for spec in params.sources:
        require_pulled(resolve(spec.path, base_dir), f"corpus source {spec.path} (corpus.ingest.sources)")


def run_ingest(params: IngestParams, out_dir: Path, metrics: Path, base_dir: Path = ROOT) -> dict[str, Any]:
    _require_sources(params, base_dir)
    t0 = time.perf_counter()
    corpus, rejected, stats = ingest(params, base_dir)
    write_parquet(corpus, out_dir / NORMALIZED, CORPUS_NORMALIZED)
    write_parquet(rejected, out_dir / REJECTED, CORPUS_REJECTED)
    write_json(metrics, stats)
    log.info("ingest: %d kept, %d rejected in %.1fs", corpus.height, rejected.height, time.perf_counter() - t0)
    return stats


def run_dedup(params: DedupParams, corpus_dir: Path, metrics: Path) -> dict[str, Any]:
    t0 = time.perf_counter()
    corpus = read_parquet(corpus_dir / NORMALIZED, CORPUS_NORMALIZED).sort("row")
    kept, duplicates, stats = deduplicate(corpus, params)
    write_parquet(kept, corpus_dir / DEDUPLICATED, CORPUS_DEDUPLICATED)
    write_parquet(duplicates, corpus_dir / DUPLICATES, CORPUS_DUPLICATES)
    write_json(metrics, stats)
    log.info("dedup: %d kept, %d removed in %.1fs", kept.height, duplicates.height, time.perf_counter() - t0)
    return stats


def run_decontaminate(
    params: DecontaminateParams, corpus_dir: Path, metrics: Path, base_dir: Path = ROOT
) -> dict[str, Any]:
    require_pulled(resolve(params.sentibench_dir, base_dir), "SentiBench raw data (corpus.decontaminate.sentibench_dir)")
    t0 = time.perf_counter()
    corpus = read_parquet(corpus_dir / DEDUPLICATED, CORPUS_DEDUPLICATED).sort("row")
    clean, contaminated, stats = decontaminate(corpus, params, base_dir)
    write_parquet(clean, corpus_dir / CLEAN, CORPUS_CLEAN)
    write_parquet(contaminated, corpus_dir / CONTAMINATED, CORPUS_CONTAMINATED)
    write_json(metrics, stats)
    log.info("decontaminate: %d kept, %d removed in %.1fs", clean.height, contaminated.height, time.perf_counter() - t0)
    return stats


def run_pools(
    params: PoolsParams,
    ingest_params: IngestParams,
    corpus_dir: Path,
    metrics: Path,
    corpus_metrics: Path,
    base_dir: Path = ROOT,
) -> dict[str, Any]:
    """Sample the pools and write the whole-corpus accounting (raw files to pools)."""
    _require_sources(ingest_params, base_dir)
    clean = read_parquet(corpus_dir / CLEAN, CORPUS_CLEAN).sort("row")
    pools, stats = sample_pools(clean, params)
    for name, df in pools.items():
        write_parquet(df, corpus_dir / POOL_FILES[name], POOL)
    write_json(metrics, stats)
    groups = ["file", "domain", "source"]
    line_counts = {s.path: count_lines(resolve(s.path, base_dir)) for s in ingest_params.sources}
    totals = corpus_accounting(
        line_counts,
        rejected=pl.read_parquet(corpus_dir / REJECTED, columns=groups),
        normalized=pl.read_parquet(corpus_dir / NORMALIZED, columns=groups),
        duplicates=pl.read_parquet(corpus_dir / DUPLICATES, columns=[*groups, "kind"]),
        contaminated=pl.read_parquet(corpus_dir / CONTAMINATED, columns=groups),
        clean=clean.select(groups),
    )
    totals["pools"] = {name: {"total": df.height, "by_domain": dict(sorted(df.group_by("domain").len().iter_rows()))}
                       for name, df in pools.items()}  # fmt: skip
    write_json(corpus_metrics, totals)
    return stats
