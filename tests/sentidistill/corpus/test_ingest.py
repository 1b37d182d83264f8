from __future__ import annotations

import pytest

from sentidistill.corpus.ingest import IngestParams, SourceSpec, count_lines, ingest, run_ingest
from sentidistill.params import ParamsError, parse_section
from sentidistill.schemas.corpus import CORPUS_NORMALIZED, CORPUS_REJECTED, REJECT_REASONS, content_id

from .synth import ingest_params, row, text, write_jsonl

# One line per reject reason (and the reason expected for it), between good lines.
MALFORMED = [
    (b'{"text": "caf\xe9 au lait, not utf-8", "domain": "imdb"}', "invalid_utf8"),
    ('{"text": "unterminated', "bad_json"),
    ("", "bad_json"),  # blank line in the middle of the file
    ('["a", "list"]', "not_object"),
    ({"domain": "imdb", "source": "x"}, "missing_text"),
    ({"text": None, "domain": "imdb"}, "missing_text"),
    ({"text": 42, "domain": "imdb"}, "non_string_text"),
    ({"text": ["a", "b"], "domain": "imdb"}, "non_string_text"),
    ({"text": "no domain anywhere in this row"}, "missing_domain"),
    (row(""), "empty"),
    (row("  <br /><br />  &nbsp; "), "empty"),
    (row("too short"), "too_short"),
    (row("x" * 2001), "too_long"),
]


@pytest.fixture
def malformed(tmp_path):
    lines: list = [row(text(0)), row(text(1), origin="repo:file#7")]
    for line, _ in MALFORMED:
        lines += [line, row(text(len(lines)))]
    write_jsonl(tmp_path / "raw" / "bad.jsonl", lines)
    write_jsonl(tmp_path / "raw" / "tweets.jsonl", [row("hello<br />world &amp; friends", domain="twitter")])
    return tmp_path, len(lines)


def test_every_reason_rejected_and_nothing_lost(malformed):
    base, n_lines = malformed
    params = ingest_params(["raw/bad.jsonl", "raw/tweets.jsonl"])
    corpus, rejected, stats = ingest(params, base)
    CORPUS_NORMALIZED.validate(corpus)
    CORPUS_REJECTED.validate(rejected)
    bad = rejected.filter(rejected["file"] == "raw/bad.jsonl")
    assert bad["reason"].to_list() == [reason for _, reason in MALFORMED]
    # the malformed lines sit at odd line numbers 3, 5, ... (1-based), good lines around them
    assert bad["line"].to_list() == list(range(3, 3 + 2 * len(MALFORMED), 2))
    assert count_lines(base / "raw/bad.jsonl") == n_lines
    assert corpus.height + rejected.height == n_lines + 1
    assert stats["total"] == {"raw": n_lines + 1, "rejected": len(MALFORMED), "kept": n_lines + 1 - len(MALFORMED)}
    n_bad = len(MALFORMED)
    assert stats["by_file"]["raw/bad.jsonl"] == {"raw": n_lines, "rejected": n_bad, "kept": n_lines - n_bad}
    assert set(stats["rejected_by_reason"]) == set(REJECT_REASONS)
    assert sum(stats["rejected_by_reason"].values()) == len(MALFORMED)
    # rows that cannot be parsed still say where they came from
    utf8 = bad.row(0, named=True)
    assert utf8["origin"] == "raw/bad.jsonl#L3" and "caf" in utf8["snippet"] and utf8["detail"]
    assert bad.filter(bad["reason"] == "too_long")["snippet"].str.len_chars().to_list() == [50]


def test_corpus_rows_keep_original_and_normalized(malformed):
    base, _ = malformed
    corpus, _, _ = ingest(ingest_params(["raw/bad.jsonl", "raw/tweets.jsonl"]), base)
    assert corpus["row"].to_list() == list(range(corpus.height))
    first = corpus.row(1, named=True)
    assert first["origin"] == "repo:file#7" and first["line"] == 2 and first["source"] == "synthetic"
    tweet = corpus.filter(corpus["domain"] == "twitter").row(0, named=True)
    assert tweet["text"] == "hello<br />world &amp; friends"
    assert tweet["normalized"] == "hello world & friends"  # twitter: line breaks -> spaces
    assert tweet["id"] == content_id("hello world & friends")
    assert tweet["origin"] == "raw/tweets.jsonl#L1" and tweet["source"] == "synthetic"


def test_defaults_from_source_spec(tmp_path):
    write_jsonl(tmp_path / "extra.jsonl", [{"text": "a text without any metadata at all"}])
    params = ingest_params(["extra.jsonl"])
    params = params.model_copy(update={"sources": [SourceSpec(path="extra.jsonl", domain="forum", source="crawl")]})
    corpus, rejected, _ = ingest(params, tmp_path)
    assert rejected.height == 0
    assert corpus.select("domain", "source").row(0) == ("forum", "crawl")


def test_missing_file_says_what_to_do(tmp_path):
    with pytest.raises(FileNotFoundError, match="dvc pull"):
        run_ingest(ingest_params(["nope.jsonl"]), tmp_path / "out", tmp_path / "m.json", tmp_path)


def test_params_are_validated():
    good = {"sources": [{"path": "a.jsonl"}], "min_chars": 5, "max_chars": 10}
    assert parse_section("corpus.ingest", good, IngestParams).text_field == "text"
    with pytest.raises(ParamsError, match="min_chars"):
        parse_section("corpus.ingest", {**good, "min_chars": 50}, IngestParams)
    with pytest.raises(ParamsError, match="corpus.ingest.max_char: unknown key"):
        parse_section("corpus.ingest", {**good, "max_char": 3}, IngestParams)
    with pytest.raises(ParamsError, match="twice"):
        parse_section("corpus.ingest", {**good, "sources": [{"path": "a"}, {"path": "a"}]}, IngestParams)
