"""Parse teacher answers to ICLDist prompts against their label set.

A failed parse never drops a row: it gets ``parse_error`` (one of :data:`PARSE_ERRORS`)
and the raw response stays; the training set excludes it by a counted policy
(``icldist.exclude``).

* Sentiment: one label of the prompt's label-word set (case-insensitive, surrounding
  quotes/brackets/punctuation and a leading ``Output:`` ignored), returned in the set's
  own spelling; a sentence that names exactly one label is accepted, two or more
  labels are ``multiple_labels``.
* Emotion: a Python-style list (``['joy', 'fear']``, as the demonstrations show) or a
  comma-separated list; every item must be a label of the taxonomy (after aliases); the
  result is the deduplicated list in answer order. Failing that (and unless the answer
  is a bracketed list), prose that names taxonomy labels gives those labels in order.

Only the first non-empty line of the answer is read.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sentidistill.schemas.teacher import PARSE_ERRORS  # noqa: F401  (the contract owns the value set)

_PREFIX = re.compile(r"^\s*(output|label|answer|sentiment|emotions?)\s*[:：]\s*", re.IGNORECASE)
_STRIP = " \t\r\n'\"`.,;:!()[]{}*"


@dataclass(frozen=True)
class Parsed:
    labels: tuple[str, ...]
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def _first_line(text: str) -> str:
    for line in text.strip().splitlines():
        if line.strip():
            return _PREFIX.sub("", line.strip())
    return ""


def parse_single(text: str, allowed: Sequence[str]) -> Parsed:
    """One label of ``allowed`` (sentiment classification)."""
    body = _first_line(text)
    if not body:
        return Parsed((), "empty")
    lookup = {a.lower(): a for a in allowed}
    cand = body.strip(_STRIP).lower()
    if cand in lookup:
        return Parsed((lookup[cand],))
    # "+1" keeps its sign: strip() above removes only punctuation around words
    if body.strip().lower() in lookup:
        return Parsed((lookup[body.strip().lower()],))
    # a sentence around the label ("The sentiment is positive."): accept exactly one mention
    found = _mentions(body, allowed)
    if len(found) == 1:
        return Parsed((found[0],))
    if len(found) > 1:
        return Parsed(tuple(found), "multiple_labels")
    return Parsed((), "unknown_label")


def _mentions(body: str, allowed: Sequence[str]) -> list[str]:
    """Labels of ``allowed`` that occur as whole words in ``body``, in order of appearance."""
    low = body.lower()
    hits = []
    for a in allowed:
        m = re.search(rf"(?<![\w+-]){re.escape(a.lower())}(?![\w])", low)
        if m:
            hits.append((m.start(), a))
    return [a for _, a in sorted(hits)]


def parse_multi(text: str, allowed: Sequence[str], aliases: Mapping[str, str] | None = None) -> Parsed:
    """A non-empty list of labels of ``allowed`` (emotion recognition)."""
    body = _first_line(text)
    if not body:
        return Parsed((), "empty")
    strict = _parse_list(body, allowed, aliases)
    if strict.ok or strict.error == "empty" or body.startswith("["):
        return strict
    # prose around the labels ("The emotion detected is 'fear'."): take the labels it names
    found = _mentions(body, [*allowed, *(aliases or {})])
    alias = {k.lower(): v for k, v in (aliases or {}).items()}
    labels = list(dict.fromkeys(alias.get(f.lower(), f) for f in found))
    return Parsed(tuple(labels)) if labels else strict


def _parse_list(body: str, allowed: Sequence[str], aliases: Mapping[str, str] | None) -> Parsed:
    items: list[str]
    if body.startswith("["):
        try:
            value = ast.literal_eval(body[: body.rfind("]") + 1] if "]" in body else body)
        except (ValueError, SyntaxError):
            return Parsed((), "not_a_list")
        if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
            return Parsed((), "not_a_list")
        items = list(value)
    else:
        items = [p for p in re.split(r"[,;]", body)]
    lookup = {a.lower(): a for a in allowed}
    alias = {k.lower(): v for k, v in (aliases or {}).items()}
    out: list[str] = []
    for raw in items:
        key = raw.strip(_STRIP).lower()
        if not key:
            continue
        label = lookup.get(key) or alias.get(key)
        if label is None:
            return Parsed(tuple(out), "unknown_label")
        if label not in out:
            out.append(label)
    if not out:
        return Parsed((), "no_label")
    return Parsed(tuple(out))


def render_multi(labels: Sequence[str]) -> str:
    """A label list as the demonstrations of Table 12 print it: ``['joy', 'fear']``."""
    return str(list(labels))
