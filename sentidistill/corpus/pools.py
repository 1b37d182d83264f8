"""Seeded, per-domain balanced, disjoint text pools for KnowDist and ICLDist.

Every clean text gets a sampling key, a keyed hash of ``(seed, id)``; within a domain
the texts with the smallest keys go to KnowDist, the next ones to ICLDist. Keys depend
only on the seed and the text itself, so adding or removing one corpus text never
reshuffles the rest, and the two pools cannot overlap.

Balance: each pool's size is split evenly over the domains (the first domains in name
order take the remainder); a domain with fewer texts than its share gives all it has
and the rest is spread over the others (recorded in the stats as ``shortfall``).
Within a pool, ``pool_rank`` orders the texts by key, so any prefix is a seeded sample.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from pydantic import Field

from sentidistill.corpus.accounting import account, corpus_accounting
from sentidistill.corpus.artifacts import (
    CLEAN,
    CONTAMINATED,
    DUPLICATES,
    NORMALIZED,
    POOL_COLUMNS,
    POOL_FILES,
    REJECTED,
)
from sentidistill.corpus.ingest import IngestParams, count_lines, require_sources, resolve
from sentidistill.headline import write_stats
from sentidistill.io import read_parquet, write_parquet
from sentidistill.log import get_logger
from sentidistill.params import StrictModel
from sentidistill.paths import ROOT
from sentidistill.schemas.corpus import CORPUS_CLEAN, POOL, POOL_NAMES

log = get_logger(__name__)

_KEY_BYTES = 8


class PoolsParams(StrictModel):
    """``corpus.pools`` in params.yaml."""

    seed: int = Field(ge=0)
    knowdist_size: int = Field(ge=0)
    icldist_size: int = Field(ge=0)
    domains: list[str] | None = Field(None, description="domains to sample from (default: all in the clean corpus)")


class PoolSizeError(ValueError):
    """The clean corpus has fewer texts than the pools ask for."""


def sampling_keys(ids: pl.Series, seed: int) -> np.ndarray:
    """uint64 keyed hash of each id (BLAKE2b keyed with the seed)."""
    key = seed.to_bytes(8, "little")
    return np.fromiter(
        (
            int.from_bytes(hashlib.blake2b(i.encode("ascii"), digest_size=_KEY_BYTES, key=key).digest(), "little")
            for i in ids.to_list()
        ),
        dtype=np.uint64,
        count=ids.len(),
    )


def balanced_quotas(size: int, available: Mapping[str, int]) -> dict[str, int]:
    """Split ``size`` as evenly as possible over domains without exceeding what each has."""
    total = sum(available.values())
    if size > total:
        raise PoolSizeError(
            f"asked for {size} texts but only {total} are available ({dict(available)}); lower "
            "corpus.pools.*_size in params.yaml or add sources under corpus.ingest.sources"
        )
    quota = {d: 0 for d in sorted(available)}
    remaining = size
    active = [d for d in quota if available[d] > 0]
    while remaining > 0:
        share, extra = divmod(remaining, len(active))
        for i, d in enumerate(active):
            give = min(share + (1 if i < extra else 0), available[d] - quota[d])
            quota[d] += give
            remaining -= give
        active = [d for d in active if quota[d] < available[d]]
    return quota


def sample_pools(clean: pl.DataFrame, params: PoolsParams) -> tuple[dict[str, pl.DataFrame], dict[str, Any]]:
    """({pool name: rows}, stats) drawn from the clean corpus."""
    domains = sorted(params.domains) if params.domains is not None else sorted(clean["domain"].unique().to_list())
    missing = sorted(set(domains) - set(clean["domain"].unique().to_list()))
    if missing:
        raise PoolSizeError(f"corpus.pools.domains names domains with no clean texts: {missing}")
    df = (
        clean.with_columns(_key=pl.Series(sampling_keys(clean["id"], params.seed), dtype=pl.UInt64))
        .filter(pl.col("domain").is_in(domains))
        .sort("domain", "_key", "row")
        .with_columns(_rank=pl.int_range(pl.len(), dtype=pl.Int64).over("domain"))
    )
    available = {d: int(n) for d, n in df.group_by("domain").len().iter_rows()}
    sizes = {"knowdist": params.knowdist_size, "icldist": params.icldist_size}
    q_know = balanced_quotas(sizes["knowdist"], available)
    left = {d: available[d] - q_know[d] for d in available}
    q_icl = balanced_quotas(sizes["icldist"], left)
    lo = pl.col("domain").replace_strict(q_know, return_dtype=pl.Int64)
    hi = lo + pl.col("domain").replace_strict(q_icl, return_dtype=pl.Int64)
    df = df.with_columns(
        pool=pl.when(pl.col("_rank") < lo).then(pl.lit("knowdist")).when(pl.col("_rank") < hi).then(pl.lit("icldist"))
    )
    pools: dict[str, pl.DataFrame] = {}
    for name in POOL_NAMES:
        pools[name] = (
            df.filter(pl.col("pool") == name)
            .sort("_key", "row")
            .with_columns(pool_rank=pl.int_range(pl.len(), dtype=pl.Int64))
            .select(POOL_COLUMNS)
        )
    unused = clean.join(df.filter(pl.col("pool").is_not_null()).select("row"), on="row", how="anti")
    table = account({**pools, "unused": unused}, input_name="clean", inputs=clean, by=("domain", "source"))
    quotas = {"knowdist": q_know, "icldist": q_icl}
    # Domains that gave less than an even share because they ran out of texts.
    even_share = {name: sizes[name] // max(len(domains), 1) for name in quotas}
    shortfall = {name: sorted(d for d, q in quotas[name].items() if q < even_share[name]) for name in quotas}
    stats = {
        "stage": "corpus_pools",
        "seed": params.seed,
        "domains": domains,
        "requested": sizes,
        "quotas": quotas,
        "shortfall": shortfall,
        **table,
    }
    for name, q in quotas.items():
        log.info("%s pool: %d texts %s", name, pools[name].height, q)
    return pools, stats


def run_pools(
    params: PoolsParams,
    ingest_params: IngestParams,
    corpus_dir: Path,
    metrics: Path,
    corpus_metrics: Path,
    base_dir: Path = ROOT,
) -> dict[str, Any]:
    """Stage corpus_pools: sample the pools and write the whole-chain accounting (raw lines to kept)."""
    require_sources(ingest_params, base_dir)
    clean = read_parquet(corpus_dir / CLEAN, CORPUS_CLEAN).sort("row")
    pools, stats = sample_pools(clean, params)
    for name, df in pools.items():
        write_parquet(df, corpus_dir / POOL_FILES[name], POOL)
    write_stats(metrics, stats)
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
    totals["pools"] = {
        name: {"total": df.height, "by_domain": dict(sorted(df.group_by("domain").len().iter_rows()))}
        for name, df in pools.items()
    }
    write_stats(corpus_metrics, totals)
    return stats
