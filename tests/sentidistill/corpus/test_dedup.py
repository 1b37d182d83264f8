from __future__ import annotations

import polars as pl
import pytest

from sentidistill.corpus.accounting import AccountingError
from sentidistill.corpus.dedup import deduplicate, exact_duplicates
from sentidistill.corpus.ingest import ingest
from sentidistill.schemas.corpus import CORPUS_DEDUPLICATED, CORPUS_DUPLICATES

from .synth import dedup_params, ingest_params, row, text, write_jsonl

BASE = text(100, 48)
W = BASE.split()


def one_word_changed(t: str, i: int) -> str:
    w = t.split()
    w[i] = "replacementword"
    return " ".join(w)


# (text, expected outcome): "kept", ("exact", index of kept row) or ("near", index of kept row)
PLANTED = [
    (BASE, "kept"),
    (text(101), "kept"),
    (one_word_changed(BASE, 20), ("near", 0)),
    (BASE.upper(), ("near", 0)),  # case only
    ("  " + BASE.replace(" ", "   \t ") + "  ", ("exact", 0)),  # whitespace only: same after normalization
    (" ".join(W[:24]) + "<br /><br />" + " ".join(W[24:]), ("near", 0)),  # a <br /> paragraph break
    (BASE.replace(".", " !!"), ("near", 0)),  # punctuation only
    (text(102), "kept"),
    (" ".join(W[:24] + text(103, 24).split()), "kept"),  # shares half: J ~ 1/3, not a duplicate
    (text(104, 12), "kept"),  # short texts with disjoint words
    (text(105, 12), "kept"),
    (BASE, ("exact", 0)),
    (one_word_changed(text(101), 3), ("near", 1)),
    (one_word_changed(one_word_changed(BASE, 20), 40), ("near", 0)),  # chains resolve to the kept row
]


@pytest.fixture
def corpus(tmp_path):
    no_words = [row("😂😂😂 🎉🎉🎉 !!!"), row("🎉🎉🎉 😂😂😂 ???")]
    write_jsonl(tmp_path / "c.jsonl", [row(t) for t, _ in PLANTED] + no_words)
    df, rejected, _ = ingest(ingest_params(["c.jsonl"]), tmp_path)
    assert rejected.height == 0
    return df


def test_planted_duplicates_removed_and_non_duplicates_kept(corpus):
    kept, dups, stats = deduplicate(corpus, dedup_params())
    CORPUS_DEDUPLICATED.validate(kept)
    CORPUS_DUPLICATES.validate(dups)
    by_row = {r["row"]: r for r in dups.iter_rows(named=True)}
    for i, (_, expected) in enumerate(PLANTED):
        if expected == "kept":
            assert i in kept["row"].to_list(), f"row {i} wrongly removed"
        else:
            kind, kept_row = expected
            assert i in by_row, f"row {i} should be a {kind} duplicate"
            got = by_row[i]
            assert (got["kind"], got["kept_row"]) == (kind, kept_row), i
            assert got["kept_id"] == corpus["id"][kept_row]
            assert got["jaccard"] >= 0.7 and (kind == "near" or got["jaccard"] == 1.0)
    # texts without words are never near-duplicates of each other (no shingles to compare)
    assert kept.filter(pl.col("normalized").str.contains("😂")).height == 2
    assert stats["total"] == {"in": corpus.height, "exact_duplicates": 2, "near_duplicates": 6, "kept": kept.height}
    assert stats["texts_without_words"] == 2
    assert kept.height + dups.height == corpus.height
    assert kept["row"].is_sorted() and dups["row"].is_sorted()


def test_first_row_of_cluster_is_kept_in_stable_order(corpus):
    reordered = pl.concat([corpus.slice(2, 1), corpus.slice(0, 2), corpus.slice(3)])  # near copy first
    reordered = reordered.with_columns(row=pl.int_range(pl.len(), dtype=pl.Int64))
    kept, dups, _ = deduplicate(reordered, dedup_params())
    assert 0 in kept["row"].to_list()  # the one-word-changed copy now comes first and stays
    assert dups.filter(pl.col("row") == 1)["kept_row"].to_list() == [0]


def test_batch_and_block_sizes_do_not_change_results(corpus):
    small = dedup_params()
    big_mh = small.minhash.model_copy(update={"batch_texts": 1000, "chunk_shingles": 100_000})
    big = small.model_copy(update={"minhash": big_mh})
    a, b = deduplicate(corpus, small), deduplicate(corpus, big)
    assert a[0].equals(b[0]) and a[1].equals(b[1]) and a[2] == b[2]


def test_exact_duplicates_point_at_first_occurrence():
    df = pl.DataFrame({"normalized": ["a", "b", "a", "c", "b", "a"]})
    assert exact_duplicates(df).to_list() == [0, 1, 0, 3, 1, 0]


def test_accounting_guard():
    from sentidistill.corpus.accounting import account

    full = pl.DataFrame({"file": ["f"] * 3, "domain": ["d"] * 3, "source": ["s"] * 3})
    with pytest.raises(AccountingError, match="in=3 but kept=2"):
        account({"kept": full.head(2)}, input_name="in", inputs=full)
