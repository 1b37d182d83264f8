from __future__ import annotations

import polars as pl
import pytest

from sentidistill.corpus.normalize import NormalizeOptions, NormalizeParams, normalize_series, normalize_text
from sentidistill.params import ParamsError, parse_section

OPTS = NormalizeOptions()


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Great film.<br /><br />Loved it.", "Great film.\n\nLoved it."),
        ("one<br>two<BR/>three<br />", "one\ntwo\nthree"),
        ("<p>para one</p><p>para two</p>", "para one\n\npara two"),
        ("Fish &amp; chips &lt;3 &#39;yum&#39; caf&eacute;", "Fish & chips <3 'yum' café"),
        ("double &amp;amp; escaped", "double & escaped"),
        ('<a href="http://x">link</a> and <b>bold</b> <i>it</i>', "link and bold it"),
        ("<sighs> keep < MAJOR SPOILERS > and <3", "<sighs> keep < MAJOR SPOILERS > and <3"),
        ("Cafe\u0301 nai\u0308ve", "Café naïve"),  # NFC composes combining marks
        ("a\u00a0b\u200bc\x07d", "a bcd"),  # nbsp -> space; zero-width, control chars dropped
        ("  lots   of\t\tspace \r\n\r\n\r\n\r\n end  ", "lots of space\n\nend"),
    ],
)
def test_normalize_text(raw, expected):
    assert normalize_text(raw, OPTS) == expected


def test_idempotent_and_series_equals_scalar():
    raws = ["A<br />B &amp; C", "  x\n\n\n\ny ", "plain", "", "Cafe\u0301 &lt;b&gt;bold&lt;/b&gt;"]
    series = normalize_series(pl.Series(raws), OPTS)
    assert series.to_list() == [normalize_text(r, OPTS) for r in raws]
    assert normalize_series(series, OPTS).to_list() == series.to_list()


def test_nulls_stay_null():
    assert normalize_series(pl.Series([None, "a"], dtype=pl.String), OPTS).to_list() == [None, "a"]


def test_per_domain_override():
    params = NormalizeParams(domains={"twitter": {"html_line_breaks": "space", "newlines": "space"}})
    tweet = params.for_domain("twitter")
    assert normalize_text("a<br />b\nc", tweet) == "a b c"
    assert normalize_text("a<br />b\nc", params.for_domain("imdb")) == "a\nb\nc"
    assert params.for_domain("imdb") == params.default


def test_bad_override_names_the_key():
    with pytest.raises(ParamsError, match=r"corpus\.ingest\.normalize\.domains\.x\.html_line_breaks"):
        parse_section("corpus.ingest.normalize", {"domains": {"x": {"html_line_breaks": "tab"}}}, NormalizeParams)
    with pytest.raises(ParamsError, match="unkown_option: unknown key"):
        parse_section("corpus.ingest.normalize", {"domains": {"x": {"unkown_option": 1}}}, NormalizeParams)
