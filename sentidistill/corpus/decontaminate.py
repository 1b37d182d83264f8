"""Remove corpus texts that overlap SentiBench texts evaluation can see.

The benchmark side is every ``sentence`` of the configured splits of every SentiBench
dataset, read straight from the raw JSON (``data/raw/sentibench/<task>/<name>/<split>.json``,
UTF-8 with a BOM). Defaults: test and val, and train because the authors' scripts draw
the 4 demonstrations from ``train.json`` (and the ATSA/ACSA dev split is carved from it).

A corpus text is contaminated when any of these holds (checked in this order; the
first that fires is recorded as ``method``):

``exact``    same word sequence after normalization (case, punctuation, whitespace,
             markup and HTML entities ignored), e.g. an IMDb review with ``<br />``
             tags vs. the same review in SentiBench without them;
``ngram``    shares an ``ngram_size``-word sequence (13 by default, the usual
             decontamination n-gram) with a benchmark text;
``minhash``  estimated Jaccard similarity of word shingles >= ``minhash.threshold``
             with a benchmark text (LSH over the benchmark texts, Jaccard re-checked).

Each removal records the benchmark dataset, split and row it hit (the highest-priority
one: splits in the configured order, then datasets by name, then row). Benchmark
sentences are normalized with the default :class:`NormalizeOptions` (``<br />`` and
entities resolved) before matching; both sides are then reduced to case-folded words.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from pydantic import Field

from sentidistill.corpus.accounting import account
from sentidistill.corpus.artifacts import CLEAN, CONTAMINATED, CONTAMINATED_COLUMNS, DEDUPLICATED
from sentidistill.corpus.minhash import (
    MinHashParams,
    Tokens,
    band_keys,
    estimated_jaccard,
    match_key,
    shares_band_with,
    shingle_hashes,
    tokenize,
)
from sentidistill.corpus.normalize import NormalizeOptions, normalize_series
from sentidistill.headline import write_stats
from sentidistill.io import read_parquet, write_parquet
from sentidistill.log import get_logger, progress
from sentidistill.params import StrictModel
from sentidistill.paths import ROOT, require_pulled
from sentidistill.schemas.corpus import CORPUS_CLEAN, CORPUS_CONTAMINATED, CORPUS_DEDUPLICATED, MATCH_METHODS

log = get_logger(__name__)

_NO_HIT = np.iinfo(np.int64).max


class DecontaminateParams(StrictModel):
    """``corpus.decontaminate`` in params.yaml."""

    sentibench_dir: str = "data/raw/sentibench"
    splits: list[str] = Field(min_length=1)
    text_field: str = "sentence"
    ngram_size: int = Field(ge=1)
    minhash: MinHashParams


def _resolve(path: str, base_dir: Path) -> Path:
    p = Path(path)
    return p if p.is_absolute() else base_dir / p


def load_sentibench_texts(root: Path, splits: list[str], text_field: str = "sentence") -> pl.DataFrame:
    """Every benchmark text of ``splits``: (dataset, split, index, sentence), in priority order."""
    rows: list[dict[str, Any]] = []
    files = 0
    for split in splits:
        for path in sorted(root.glob(f"*/*/{split}.json")):
            dataset = path.parent.relative_to(root).as_posix()
            try:
                data = json.loads(path.read_text(encoding="utf-8-sig"))
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise ValueError(
                    f"{path}: not a UTF-8 JSON file ({exc}); re-pull with `dvc pull data/raw/sentibench`"
                ) from exc
            if not isinstance(data, list):
                raise ValueError(f"{path}: expected a JSON array of examples, got {type(data).__name__}")
            files += 1
            for i, ex in enumerate(data):
                text = ex.get(text_field) if isinstance(ex, dict) else None
                if not isinstance(text, str):
                    raise ValueError(f"{path}[{i}]: no string '{text_field}' field")
                rows.append({"bench_dataset": dataset, "bench_split": split, "bench_index": i, "bench_sentence": text})
    if not rows:
        raise FileNotFoundError(
            f"no SentiBench files for splits {splits} under {root}: run `dvc pull data/raw/sentibench` "
            "or fix corpus.decontaminate.sentibench_dir / splits in params.yaml"
        )
    log.info("SentiBench: %d texts from %d files (splits %s)", len(rows), files, ", ".join(splits))
    return pl.DataFrame(
        rows,
        schema={
            "bench_dataset": pl.String,
            "bench_split": pl.String,
            "bench_index": pl.Int64,
            "bench_sentence": pl.String,
        },
    )


def _exact_hits(corpus_keys: pl.Series, bench_keys: pl.Series) -> np.ndarray:
    """Per corpus text, the first benchmark position with the same match key (or _NO_HIT)."""
    bench = (
        pl.DataFrame({"key": bench_keys})
        .with_row_index("pos")
        .filter(pl.col("key") != "")
        .group_by("key")
        .agg(pl.col("pos").min().cast(pl.Int64))
    )
    hits = pl.DataFrame({"key": corpus_keys}).join(bench, on="key", how="left", maintain_order="left")["pos"]
    return hits.fill_null(_NO_HIT).to_numpy().astype(np.int64)


class _NgramIndex:
    """The benchmark's n-gram hashes, each with its highest-priority benchmark position."""

    def __init__(self, tokens: Tokens, n: int) -> None:
        self.n = n
        sh, off = shingle_hashes(tokens, n, partial=False)
        owner = np.repeat(np.arange(len(off) - 1, dtype=np.int64), np.diff(off))
        order = np.lexsort((owner, sh))  # by hash, then by priority
        sh, owner = sh[order], owner[order]
        first = np.ones(len(sh), dtype=bool)
        first[1:] = sh[1:] != sh[:-1]
        self.hashes, self.owner = sh[first], owner[first]
        self._set = pl.Series(self.hashes, dtype=pl.UInt64).implode()

    def hits(self, tokens: Tokens) -> tuple[np.ndarray, np.ndarray]:
        """Per text: first benchmark position sharing an n-gram (or _NO_HIT), share of its n-grams found."""
        sh, off = shingle_hashes(tokens, self.n, partial=False)
        n_texts = len(off) - 1
        best = np.full(n_texts, _NO_HIT, dtype=np.int64)
        share = np.zeros(n_texts, dtype=np.float64)
        if len(sh) == 0 or len(self.hashes) == 0:
            return best, share
        hit = pl.Series(sh, dtype=pl.UInt64).is_in(self._set).to_numpy()
        if not hit.any():
            return best, share
        doc = np.repeat(np.arange(n_texts), np.diff(off))[hit]
        bench_pos = self.owner[np.searchsorted(self.hashes, sh[hit])]
        np.minimum.at(best, doc, bench_pos)
        counts = np.diff(off)
        np.divide(np.bincount(doc, minlength=n_texts), counts, out=share, where=counts > 0)
        return best, share


class _MinHashIndex:
    """Benchmark signatures and band keys; corpus batches are reduced to LSH candidates."""

    def __init__(self, tokens: Tokens, params: MinHashParams) -> None:
        self.params = params
        self.hasher = params.hasher()
        self.lsh = params.lsh()
        sh, off = shingle_hashes(tokens, params.shingle_size)
        self.sig = self.hasher.signatures(sh, off)
        self.valid = np.diff(off) > 0
        self.keys = band_keys(self.sig, self.lsh.hashranges)
        self._valid_keys = self.keys[self.valid]
        self.cand_rows: list[np.ndarray] = []
        self.cand_sigs: list[np.ndarray] = []
        self.cand_keys: list[np.ndarray] = []

    def add_batch(self, start: int, tokens: Tokens) -> None:
        sh, off = shingle_hashes(tokens, self.params.shingle_size)
        sig = self.hasher.signatures(sh, off)
        keys = band_keys(sig, self.lsh.hashranges)
        cand = shares_band_with(keys, self._valid_keys) & (np.diff(off) > 0)
        self.cand_rows.append(np.flatnonzero(cand) + start)
        self.cand_sigs.append(sig[cand])
        self.cand_keys.append(keys[cand])

    def hits(self, n_texts: int) -> tuple[np.ndarray, np.ndarray, dict[str, int]]:
        """Per text: best benchmark position with estimated Jaccard >= threshold (or _NO_HIT), that Jaccard."""
        rows = np.concatenate([np.zeros(0, dtype=np.int64), *self.cand_rows])
        sigs = np.concatenate([np.zeros((0, self.params.num_perm), dtype=np.uint32), *self.cand_sigs])
        ckeys = np.concatenate([np.zeros((0, self.lsh.b), dtype=np.uint64), *self.cand_keys])
        # Index only the benchmark texts some candidate can reach; query with every candidate.
        indexed = np.flatnonzero(self.valid & shares_band_with(self.keys, ckeys))
        for b in indexed:
            self.lsh.insert(int(b), self.hasher.lean(self.sig[b]), check_duplication=False)
        best = np.full(n_texts, _NO_HIT, dtype=np.int64)
        sim = np.zeros(n_texts, dtype=np.float64)
        for row, sig in zip(rows, sigs):
            found = self.lsh.query(self.hasher.lean(sig))
            if not found:
                continue
            hit = np.sort(np.fromiter(found, dtype=np.int64, count=len(found)))
            sims = estimated_jaccard(sig, self.sig[hit])
            top = int(np.argmax(sims))  # highest similarity; ties -> highest-priority benchmark text
            if sims[top] >= self.params.threshold:
                best[row] = hit[top]
                sim[row] = float(sims[top])
        info = {
            "lsh_bands": self.lsh.b,
            "lsh_rows_per_band": self.lsh.r,
            "lsh_candidates": len(rows),
            "lsh_indexed_bench_texts": len(indexed),
        }
        return best, sim, info


def find_contamination(
    corpus: pl.DataFrame, bench: pl.DataFrame, params: DecontaminateParams
) -> tuple[pl.DataFrame, dict[str, Any]]:
    """One row per corpus text: method (null if clean), benchmark position hit and similarity."""
    bench_norm = normalize_series(bench["bench_sentence"], NormalizeOptions())
    texts = corpus["normalized"]
    exact = _exact_hits(match_key(texts), match_key(bench_norm))
    bench_tokens = tokenize(bench_norm)
    ngrams = _NgramIndex(bench_tokens, params.ngram_size)
    minhash = _MinHashIndex(bench_tokens, params.minhash)
    ngram = np.full(texts.len(), _NO_HIT, dtype=np.int64)
    ngram_share = np.zeros(texts.len(), dtype=np.float64)
    batch = params.minhash.batch_texts
    starts = range(0, texts.len(), batch)
    for start in progress(starts, desc="decontaminate", total=len(starts), unit="batch"):
        tokens = tokenize(texts.slice(start, batch))  # once per batch, shared by both checks
        stop = start + len(tokens.offsets) - 1
        ngram[start:stop], ngram_share[start:stop] = ngrams.hits(tokens)
        minhash.add_batch(start, tokens)
    mh, mh_sim, mh_info = minhash.hits(texts.len())
    method = np.where(
        exact != _NO_HIT, "exact", np.where(ngram != _NO_HIT, "ngram", np.where(mh != _NO_HIT, "minhash", ""))
    )
    pos = np.where(exact != _NO_HIT, exact, np.where(ngram != _NO_HIT, ngram, mh))
    sim = np.where(exact != _NO_HIT, 1.0, np.where(ngram != _NO_HIT, ngram_share, mh_sim))
    hits = pl.DataFrame(
        {
            "method": pl.Series(method, dtype=pl.String).replace("", None),
            "bench_pos": pl.Series(np.where(pos == _NO_HIT, -1, pos), dtype=pl.Int64),
            "similarity": pl.Series(sim, dtype=pl.Float64),
        }
    )
    info = {
        "matched_by_method_any": {
            "exact": int((exact != _NO_HIT).sum()),
            "ngram": int((ngram != _NO_HIT).sum()),
            "minhash": int((mh != _NO_HIT).sum()),
        },
        "minhash_lsh": mh_info,
    }
    return hits, info


def decontaminate(
    corpus: pl.DataFrame, params: DecontaminateParams, base_dir: Path = ROOT
) -> tuple[pl.DataFrame, pl.DataFrame, dict[str, Any]]:
    """(clean rows, contaminated rows, stats) for a deduplicated corpus."""
    bench = load_sentibench_texts(_resolve(params.sentibench_dir, base_dir), params.splits, params.text_field)
    hits, info = find_contamination(corpus, bench, params)
    flagged = hits["method"].is_not_null()
    bench_cols = bench.with_row_index("bench_pos").with_columns(pl.col("bench_pos").cast(pl.Int64))
    contaminated = (
        pl.concat([corpus, hits], how="horizontal")
        .filter(flagged)
        .join(bench_cols, on="bench_pos", how="left", maintain_order="left")
        .select(CONTAMINATED_COLUMNS)
    )
    clean = corpus.filter(~flagged)
    table = account({"contaminated": contaminated, "kept": clean}, input_name="in", inputs=corpus)
    per_bench = (
        contaminated.group_by("bench_dataset", "bench_split", "method")
        .len()
        .sort("bench_dataset", "bench_split", "method")
    )
    hits_by_bench: dict[str, dict[str, dict[str, int]]] = {}
    for ds, split, method, n in per_bench.iter_rows():
        hits_by_bench.setdefault(ds, {}).setdefault(split, {})[method] = int(n)
    stats = {
        "stage": "corpus_decontaminate",
        **table,
        "bench_texts": bench.height,
        "bench_texts_by_split": dict(sorted(bench.group_by("bench_split").len().iter_rows())),
        "by_method": {m: int((contaminated["method"] == m).sum()) for m in MATCH_METHODS},
        **info,
        "hits_by_bench": hits_by_bench,
    }
    log.info("contaminated: %d of %d (%s)", contaminated.height, corpus.height, stats["by_method"])
    return clean, contaminated, stats


def run_decontaminate(
    params: DecontaminateParams, corpus_dir: Path, metrics: Path, base_dir: Path = ROOT
) -> dict[str, Any]:
    """Stage corpus_decontaminate: read the deduplicated corpus, write clean and contaminated rows."""
    require_pulled(
        _resolve(params.sentibench_dir, base_dir), "SentiBench raw data (corpus.decontaminate.sentibench_dir)"
    )
    t0 = time.perf_counter()
    corpus = read_parquet(corpus_dir / DEDUPLICATED, CORPUS_DEDUPLICATED).sort("row")
    clean, contaminated, stats = decontaminate(corpus, params, base_dir)
    write_parquet(clean, corpus_dir / CLEAN, CORPUS_CLEAN)
    write_parquet(contaminated, corpus_dir / CONTAMINATED, CORPUS_CONTAMINATED)
    write_stats(metrics, stats)
    log.info("decontaminate: %d kept, %d removed in %.1fs", clean.height, contaminated.height, time.perf_counter() - t0)
    return stats
