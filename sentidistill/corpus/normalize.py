"""Per-domain text normalization for the distillation corpus.

The raw texts keep the markup of where they were scraped from: IMDb reviews carry
``<br />`` line breaks, tweets ``&amp;`` entities, a few product reviews ``<a>``/``<b>``
tags, some texts control characters or runs of spaces. Normalization turns each
into clean prose; the original text is kept next to it in every artifact.

Steps, each switchable per domain in ``params.yaml`` (``corpus.ingest.normalize``):

1. HTML entities (``&amp;``, ``&#39;``, ``&eacute;``) are unescaped; doubly escaped
   text (``&amp;amp;``) is unescaped until it no longer changes, at most
   ``entity_passes`` times.
2. HTML line breaks (``<br>``, ``<br />``, ``<p>``, ``</p>``) -> newline or space.
3. Other HTML tags from a closed list of formatting tags (``<a href=..>``, ``</a>``,
   ``<b>``, ``<i>``, ...) are removed. Angle-bracket text that is not such a tag
   (``<sighs>``, ``< MAJOR SPOILERS AHEAD >``, ``<3``) is prose and stays.
4. Unicode normalization form (NFC by default).
5. Control and zero-width characters are dropped, non-breaking spaces become spaces.
6. Whitespace: runs of spaces/tabs -> one space, lines stripped, at most one blank
   line between paragraphs (or every newline -> space when ``newlines: space``).
"""

from __future__ import annotations

import html
import unicodedata
from collections.abc import Callable
from typing import Literal

import polars as pl
from pydantic import Field

from sentidistill.params import StrictModel

#: Formatting tags that may appear in scraped reviews; anything else in angle brackets is text.
HTML_TAGS = (
    "a|abbr|b|big|blockquote|center|cite|code|del|div|em|font|h[1-6]|hr|i|img|ins|li|ol|"
    "pre|q|s|small|span|strike|strong|sub|sup|table|tbody|td|th|tr|tt|u|ul"
)
# Patterns run by polars (Rust regex, vectorized over a whole column).
_BREAK_RE = r"(?i)<\s*(?:br|p)\s*/?\s*>|<\s*/\s*p\s*>|<\s*p\s[^<>]*>"
_TAG_RE = rf"(?i)<\s*/?\s*(?:{HTML_TAGS})(?:\s[^<>]*)?/?\s*>"
# C0/C1 controls except \t \n \r, zero-width characters, word joiner, BOM, soft hyphen.
_CONTROL_RE = "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u00ad\u200b-\u200d\u2060\ufeff]"
_NBSP_RE = "[\u00a0\u2007\u202f]"
# A run of horizontal whitespace other than one plain space.
_HSPACE_RE = r" [^\S\n]+|[^\S\n ][^\S\n]*"
_SPACED_NEWLINE_RE = r" ?\n ?"
_MANY_NEWLINES_RE = r"\n{3,}"
_NON_ASCII_RE = r"[^\x00-\x7f]"


class NormalizeOptions(StrictModel):
    """How the texts of one domain are normalized (every field can be overridden per domain)."""

    html_line_breaks: Literal["newline", "space", "keep"] = "newline"
    strip_html_tags: bool = True
    unescape_entities: bool = True
    entity_passes: int = Field(2, ge=1, le=5)
    unicode_form: Literal["NFC", "NFKC", "none"] = "NFC"
    drop_control_chars: bool = True
    newlines: Literal["keep", "space"] = "keep"


class NormalizeOverride(StrictModel):
    """Per-domain override: only the options given differ from ``default``."""

    html_line_breaks: Literal["newline", "space", "keep"] | None = None
    strip_html_tags: bool | None = None
    unescape_entities: bool | None = None
    entity_passes: int | None = Field(None, ge=1, le=5)
    unicode_form: Literal["NFC", "NFKC", "none"] | None = None
    drop_control_chars: bool | None = None
    newlines: Literal["keep", "space"] | None = None


class NormalizeParams(StrictModel):
    """``corpus.ingest.normalize``: defaults for every domain plus per-domain overrides."""

    default: NormalizeOptions = NormalizeOptions()
    domains: dict[str, NormalizeOverride] = Field(default_factory=dict)

    def for_domain(self, domain: str) -> NormalizeOptions:
        override = self.domains.get(domain)
        if override is None:
            return self.default
        return self.default.model_copy(update=override.model_dump(exclude_none=True))


def _map_where(s: pl.Series, mask: pl.Series, fn: Callable[[str], str]) -> pl.Series:
    """Apply a Python function only to the texts selected by ``mask`` (the rest pass through)."""
    idx = mask.arg_true()
    if idx.len() == 0:
        return s
    return s.scatter(idx, [fn(t) for t in s.gather(idx).to_list()])


def _unescape(text: str, passes: int) -> str:
    for _ in range(passes):
        unescaped = html.unescape(text)
        if unescaped == text:
            break
        text = unescaped
    return text


def normalize_series(texts: pl.Series, opts: NormalizeOptions) -> pl.Series:
    """Normalize a column of texts (nulls stay null). Regex steps run in polars; HTML
    unescaping and Unicode normalization run in Python, only on texts that need them
    (those containing ``&``, those with non-ASCII characters)."""
    s = texts.cast(pl.String)
    if opts.unescape_entities:
        has_entity = s.str.contains("&", literal=True).fill_null(False)
        s = _map_where(s, has_entity, lambda t: _unescape(t, opts.entity_passes))
    if opts.html_line_breaks != "keep":
        s = s.str.replace_all(_BREAK_RE, "\n" if opts.html_line_breaks == "newline" else " ")
    if opts.strip_html_tags:
        s = s.str.replace_all(_TAG_RE, " ")
    if opts.unicode_form != "none":
        form = opts.unicode_form
        s = _map_where(s, s.str.contains(_NON_ASCII_RE).fill_null(False), lambda t: unicodedata.normalize(form, t))
    if opts.drop_control_chars:
        s = s.str.replace_all(_CONTROL_RE, "")
    s = s.str.replace_all(_NBSP_RE, " ").str.replace_all("\r\n?", "\n")
    if opts.newlines == "space":
        s = s.str.replace_all("\n", " ", literal=True)
    s = s.str.replace_all(_HSPACE_RE, " ")
    s = s.str.replace_all(_SPACED_NEWLINE_RE, "\n").str.replace_all(_MANY_NEWLINES_RE, "\n\n")
    return s.str.strip_chars()


def normalize_text(text: str, opts: NormalizeOptions) -> str:
    """Normalize one text (normalizing the result again changes nothing, short of text escaped
    more than ``entity_passes`` times)."""
    return normalize_series(pl.Series([text], dtype=pl.String), opts)[0]
