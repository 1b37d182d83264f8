"""The four corpus stages chained on a tiny synthetic tree (fast) and on the real raw data (slow)."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from sentidistill.corpus.artifacts import POOL_FILES
from sentidistill.corpus.decontaminate import run_decontaminate
from sentidistill.corpus.dedup import run_dedup
from sentidistill.corpus.ingest import IngestParams, run_ingest
from sentidistill.corpus.pools import PoolsParams, run_pools
from sentidistill.params import load_section
from sentidistill.paths import RAW_SENTIBENCH, RAW_UNLABELED, require_pulled
from sentidistill.stages import corpus_decontaminate, corpus_dedup, corpus_ingest, corpus_pools
from tests.sentidistill.corpus.synth import (
    decontam_params,
    dedup_params,
    ingest_params,
    pools_params,
    row,
    text,
    write_jsonl,
    write_sentibench,
)

OUTCOMES = ("rejected", "exact_duplicates", "near_duplicates", "contaminated", "kept")


def assert_identity(totals: dict) -> None:
    for group in ("by_file", "by_domain", "by_source"):
        for name, counts in totals[group].items():
            assert counts["raw"] == sum(counts[k] for k in OUTCOMES), (group, name, counts)
    assert totals["total"]["raw"] == sum(totals["total"][k] for k in OUTCOMES)


@pytest.fixture
def tree(tmp_path):
    review = text(300, 50)
    write_sentibench(tmp_path / "sb", {"sc/imdb/test.json": [{"sentence": review.replace(". ", ".<br /><br />")}]})
    good = [row(text(s), domain=("imdb", "yelp")[s % 2]) for s in range(10, 50)]
    write_jsonl(
        tmp_path / "raw/reviews.jsonl",
        good + [row(good[0]["text"].upper(), domain=good[0]["domain"]), row(review), row(text(5)), row(text(5))],
    )
    write_jsonl(
        tmp_path / "raw/malformed.jsonl",
        [
            b"\xff\xfe not utf-8",
            "{oops",
            "",
            "[1]",
            {"domain": "yelp"},
            {"text": 3, "domain": "yelp"},
            {"text": "orphan text with no domain"},
            row("", domain="yelp"),
            row("tiny", domain="yelp"),
            row("y" * 3000, domain="yelp"),
            row(text(99), domain="yelp"),
            row(review, domain="yelp"),
        ],  # last: an exact copy of a reviews.jsonl row
    )
    return tmp_path


def run_chain(base: Path, out: Path) -> dict:
    ing = ingest_params(["raw/reviews.jsonl", "raw/malformed.jsonl"])
    metrics = out / "metrics"
    run_ingest(ing, out / "corpus", metrics / "corpus_ingest.json", base)
    run_dedup(dedup_params(), out / "corpus", metrics / "corpus_dedup.json")
    run_decontaminate(decontam_params("sb"), out / "corpus", metrics / "corpus_decontaminate.json", base)
    run_pools(pools_params(6, 4), ing, out / "corpus", metrics / "corpus_pools.json", metrics / "corpus.json", base)
    return json.loads((metrics / "corpus.json").read_text())


def test_chain_accounts_for_every_line(tree):
    totals = run_chain(tree, tree / "run")
    assert_identity(totals)
    assert totals["by_file"]["raw/malformed.jsonl"] == {
        "raw": 12,
        "rejected": 10,
        "exact_duplicates": 1,
        "near_duplicates": 0,
        "contaminated": 0,
        "kept": 1,
    }
    reviews = totals["by_file"]["raw/reviews.jsonl"]
    assert reviews["raw"] == len((tree / "raw/reviews.jsonl").read_bytes().splitlines())
    assert (reviews["exact_duplicates"], reviews["near_duplicates"], reviews["contaminated"]) == (1, 1, 1)
    assert totals["by_domain"]["unknown"]["rejected"] == 5  # 4 unparseable lines + 1 missing_domain
    assert totals["pools"]["knowdist"]["by_domain"] == {"imdb": 3, "yelp": 3}
    pools = [pl.read_parquet(tree / "run/corpus" / f) for f in POOL_FILES.values()]
    assert not set(pools[0]["id"]) & set(pools[1]["id"])


def test_same_params_byte_identical_outputs(tree):
    run_chain(tree, tree / "a")
    run_chain(tree, tree / "b")
    files = sorted(p.relative_to(tree / "a") for p in (tree / "a").rglob("*") if p.is_file())
    assert len(files) == 13  # 8 parquet + 5 json
    for f in files:
        assert (tree / "a" / f).read_bytes() == (tree / "b" / f).read_bytes(), f


@pytest.mark.slow
def test_real_corpus_chain(tmp_path):
    """The stage entry points on data/raw: accounting holds per file/domain/source, raw = file lines."""
    require_pulled(RAW_UNLABELED, "raw unlabeled corpus")
    require_pulled(RAW_SENTIBENCH, "SentiBench raw data")
    corpus, metrics = tmp_path / "corpus", tmp_path / "metrics"
    corpus_ingest.main(["--out-dir", str(corpus), "--metrics", str(metrics / "corpus_ingest.json")])
    corpus_dedup.main(["--corpus-dir", str(corpus), "--metrics", str(metrics / "corpus_dedup.json")])
    corpus_decontaminate.main(["--corpus-dir", str(corpus), "--metrics", str(metrics / "corpus_decontaminate.json")])
    corpus_pools.main(
        [
            "--corpus-dir",
            str(corpus),
            "--metrics",
            str(metrics / "corpus_pools.json"),
            "--corpus-metrics",
            str(metrics / "corpus.json"),
        ]
    )
    totals = json.loads((metrics / "corpus.json").read_text())
    assert_identity(totals)
    params = load_section("corpus.ingest", IngestParams)
    for spec in params.sources:
        data = (Path(__file__).resolve().parents[2] / spec.path).read_bytes()
        assert totals["by_file"][spec.path]["raw"] == data.count(b"\n") + (not data.endswith(b"\n"))
    assert totals["total"]["raw"] == 172_361  # DATA.md: 50,000 + 100,000 + 10,000 + 12,361
    t = totals["total"]
    assert t["exact_duplicates"] > 0 and t["near_duplicates"] > 0 and t["contaminated"] > 0
    decon = json.loads((metrics / "corpus_decontaminate.json").read_text())
    assert "sc/imdb" in decon["hits_by_bench"]  # DATA.md: some raw IMDb reviews occur in SentiBench IMDb
    pools = json.loads((metrics / "corpus_pools.json").read_text())
    sizes = load_section("corpus.pools", PoolsParams)
    assert (pools["total"]["knowdist"], pools["total"]["icldist"]) == (sizes.knowdist_size, sizes.icldist_size)
