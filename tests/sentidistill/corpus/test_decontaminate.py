from __future__ import annotations

import polars as pl
import pytest

from sentidistill.corpus.decontaminate import decontaminate, load_sentibench_texts
from sentidistill.corpus.ingest import ingest
from sentidistill.schemas.corpus import CORPUS_CLEAN, CORPUS_CONTAMINATED

from .synth import decontam_params, ingest_params, row, text, write_jsonl, write_sentibench

REVIEW = text(200, 60)  # an IMDb-like test review
REVIEW_BR = REVIEW.replace(". ", ".<br /><br />", 2)  # as SentiBench stores it
TWEET = " ".join(text(201, 12).lower().rstrip(".").split())  # a 12-word tweet (too short for a 13-gram)
TRAIN_ONLY = text(202, 30)
SST_STYLE = "it 's a charming and often affecting journey , really ."


@pytest.fixture
def bench(tmp_path):
    return write_sentibench(
        tmp_path / "sentibench",
        {
            "sc/imdb/test.json": [
                {"sentence": text(210), "label": "positive"},
                {"sentence": REVIEW_BR, "label": "negative"},
            ],
            "sc/imdb/val.json": [{"sentence": text(211), "label": "positive"}],
            "sc/imdb/train.json": [{"sentence": TRAIN_ONLY, "label": "positive"}],
            "sc/sst2/test.json": [{"sentence": SST_STYLE, "label": "positive"}],
            "multifaced/irony18/val.json": [{"sentence": "@user " + TWEET, "label": "irony"}],
            "absa/atsa_rest16/train.json": [{"ID": "1", "sentence": "The food was great.", "aspects": []}],
        },
    )


# (corpus text, expected (method, dataset, split) or None for clean)
PLANTED = [
    (REVIEW.upper().replace(" ", "  "), ("exact", "sc/imdb", "test")),  # case + whitespace + no <br />
    (REVIEW.replace(".", " !"), ("exact", "sc/imdb", "test")),  # punctuation differences
    ("I loved it. " + " ".join(REVIEW.split()[10:25]) + " " + text(220, 30), ("ngram", "sc/imdb", "test")),
    ("@USER " + " ".join(TWEET.split()[:-1]) + " different!", ("minhash", "multifaced/irony18", "val")),
    ("It's a charming and often affecting journey, really!", ("exact", "sc/sst2", "test")),
    (TRAIN_ONLY, ("exact", "sc/imdb", "train")),
    ("The food was great!!", ("exact", "absa/atsa_rest16", "train")),
    (text(230), None),
    (" ".join(REVIEW.split()[10:22]) + " " + text(231, 30), None),  # only a 12-word overlap
    (text(232, 12), None),
]


def corpus_of(tmp_path, texts):
    write_jsonl(tmp_path / "c.jsonl", [row(t) for t in texts])
    df, rejected, _ = ingest(ingest_params(["c.jsonl"]), tmp_path)
    assert rejected.height == 0
    return df


def test_planted_copies_removed_with_the_benchmark_they_hit(tmp_path, bench):
    corpus = corpus_of(tmp_path, [t for t, _ in PLANTED])
    clean, contaminated, stats = decontaminate(corpus, decontam_params(str(bench)), tmp_path)
    CORPUS_CLEAN.validate(clean)
    CORPUS_CONTAMINATED.validate(contaminated)
    got = {r["row"]: (r["method"], r["bench_dataset"], r["bench_split"]) for r in contaminated.iter_rows(named=True)}
    expected = {i: e for i, (_, e) in enumerate(PLANTED) if e is not None}
    assert got == expected
    assert clean["row"].to_list() == [i for i, (_, e) in enumerate(PLANTED) if e is None]
    hit = contaminated.filter(pl.col("row") == 0).row(0, named=True)
    assert hit["bench_sentence"] == REVIEW_BR and hit["bench_index"] == 1 and hit["similarity"] == 1.0
    assert 0.7 <= contaminated.filter(pl.col("method") == "minhash")["similarity"][0] < 1.0
    assert stats["total"] == {"in": len(PLANTED), "contaminated": len(expected), "kept": len(PLANTED) - len(expected)}
    assert stats["hits_by_bench"]["sc/imdb"]["test"] == {"exact": 2, "ngram": 1}
    assert stats["by_method"] == {"exact": 5, "ngram": 1, "minhash": 1}


def test_splits_parameter(tmp_path, bench):
    corpus = corpus_of(tmp_path, [TRAIN_ONLY, REVIEW])
    clean, contaminated, _ = decontaminate(corpus, decontam_params(str(bench), ("test", "val")), tmp_path)
    assert clean["normalized"].to_list() == [TRAIN_ONLY]  # train not searched -> kept
    assert contaminated["bench_split"].to_list() == ["test"]


def test_priority_test_split_first(tmp_path):
    root = write_sentibench(
        tmp_path / "sb", {"sc/a/train.json": [{"sentence": REVIEW}], "sc/b/test.json": [{"sentence": REVIEW}]}
    )
    corpus = corpus_of(tmp_path, [REVIEW])
    _, contaminated, _ = decontaminate(corpus, decontam_params(str(root)), tmp_path)
    assert contaminated.select("bench_dataset", "bench_split").row(0) == ("sc/b", "test")


def test_load_sentibench_reads_bom_json(bench):
    df = load_sentibench_texts(bench, ["test", "val", "train"])
    assert df.height == 7
    assert df["bench_split"].to_list()[:3] == ["test"] * 3  # split priority first
    absa = df.filter(pl.col("bench_dataset") == "absa/atsa_rest16")
    assert absa["bench_sentence"].to_list() == ["The food was great."]


def test_load_sentibench_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="dvc pull"):
        load_sentibench_texts(tmp_path, ["test"])
    write_sentibench(tmp_path, {"sc/x/test.json": [{"text": "no sentence field"}]})
    with pytest.raises(ValueError, match="sentence"):
        load_sentibench_texts(tmp_path, ["test"])
