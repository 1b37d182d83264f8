"""Parse the teacher's structured answer ``{"reason": "...", "label": "..."}`` robustly.

The notebook this path replaces read the answer with ``content.index('"label": "')`` and
dropped every row where that failed. Here a failed parse never drops a row: it gets
``error`` (one of :data:`PARSE_ERRORS`) and the raw response stays in the labels table.

What is accepted, in this order, for the first ``{...}`` object of the answer that has the
label key (objects found with a quote-aware brace scanner, so JSON inside prose or inside a
```json code fence is found; an object cut off by the token budget is closed first):

1. strict JSON (``json.loads``) -- method ``json``;
2. lenient: Python-literal syntax (single quotes, ``None``), trailing commas, unquoted keys,
   typographic quotes -- method ``lenient``;
3. a ``label: value`` pair anywhere in the answer (``"label": "positive"`` in broken JSON,
   ``**Label:** positive`` in markdown) -- method ``regex``.

Keys are matched case-insensitively and key order does not matter. The label value is
matched case-insensitively against the label set, then against the aliases of
``classifier.labels.aliases``; anything else is ``unknown_label`` (never guessed). A missing
rationale is not an error (``reason`` is None and the stats count it).

``label_offset`` is the character offset in the raw answer where the label value starts
(after ``"label": "``); the soft-label scorer reads the teacher's next-token distribution
there.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sentidistill.schemas.classifier import PARSE_ERRORS, PARSE_METHODS  # noqa: F401  (the contract owns the value sets)

_STRIP = " \t\r\n'\"`.,;:!?*()[]{}<>"
_SMART = str.maketrans({"\u201c": '"', "\u201d": '"', "\u2018": "'", "\u2019": "'"})


@dataclass(frozen=True)
class ParsedAnswer:
    label: str | None  # in the label set's own spelling; None when error is set
    reason: str | None
    error: str | None
    method: str | None  # one of PARSE_METHODS when a label was read
    raw_label: str | None  # the teacher's label value as written
    label_offset: int | None  # where the label value starts in the raw answer

    @property
    def ok(self) -> bool:
        return self.error is None


def _objects(text: str) -> Iterator[str]:
    """Balanced ``{...}`` substrings in order of their opening brace (quote-aware; an object
    still open at the end of the text is closed with the quote and braces it lacks)."""
    pos = 0
    while (start := text.find("{", pos)) != -1:
        depth, quote, escaped = 0, None, False
        end = None
        for j in range(start, len(text)):
            c = text[j]
            if quote is not None:
                if escaped:
                    escaped = False
                elif c == "\\":
                    escaped = True
                elif c == quote:
                    quote = None
            elif c in "\"'" and (c == '"' or _opens_single(text, j)):
                quote = c
            elif c == "{":
                depth += 1
            elif c == "}":
                depth -= 1
                if depth == 0:
                    end = j + 1
                    break
        if end is None:  # cut off (token budget): close what is open
            yield text[start:] + (quote or "") + "}" * max(depth, 1)
            return
        yield text[start:end]
        pos = start + 1  # nested objects are candidates too


def _opens_single(text: str, j: int) -> bool:
    """A single quote opens a string only where a Python-literal string could start
    (after ``{ , : [`` and spaces), not as an apostrophe inside prose."""
    k = j - 1
    while k >= 0 and text[k] in " \t\r\n":
        k -= 1
    return k < 0 or text[k] in "{,:["


_UNQUOTED_KEY = re.compile(r"([{,]\s*)([A-Za-z_][A-Za-z0-9_]*)(\s*:)")
_TRAILING_COMMA = re.compile(r",\s*([}\]])")


def _load(obj: str) -> tuple[Any, str] | None:
    try:
        return json.loads(obj), "json"
    except ValueError:
        pass
    candidates = [obj.translate(_SMART)]
    fixed = _TRAILING_COMMA.sub(r"\1", _UNQUOTED_KEY.sub(r'\1"\2"\3', candidates[0]))
    candidates.append(fixed)
    for cand in candidates:
        try:
            return json.loads(cand), "lenient"
        except ValueError:
            pass
        try:
            return ast.literal_eval(cand), "lenient"
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            pass
    return None


def _find_key(node: Any, key: str) -> tuple[bool, Any]:
    """(found, value) of ``key`` (case-insensitive) in a dict, searching nested dicts/lists."""
    if isinstance(node, Mapping):
        for k, v in node.items():
            if isinstance(k, str) and k.strip().lower() == key:
                return True, v
        for v in node.values():
            found, val = _find_key(v, key)
            if found:
                return True, val
    elif isinstance(node, list):
        for v in node:
            found, val = _find_key(v, key)
            if found:
                return True, val
    return False, None


def _as_text(value: Any) -> str | None:
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    if value is None or isinstance(value, (dict, list)):
        return None
    text = str(value).strip()
    return text or None


class LabelMatcher:
    """Label set + aliases, matched case-insensitively, returned in the set's own spelling."""

    def __init__(self, labels: Sequence[str], aliases: Mapping[str, str] | None = None) -> None:
        self.labels = list(labels)
        self._lookup = {lab.strip().lower(): lab for lab in labels}
        for alias, target in (aliases or {}).items():
            canon = self._lookup.get(target.strip().lower())
            if canon is None:
                raise ValueError(f"alias {alias!r} maps to {target!r}, which is not in {self.labels}")
            self._lookup.setdefault(alias.strip().lower(), canon)

    def match(self, value: str) -> str | None:
        norm = " ".join(value.strip(_STRIP).lower().split())
        return self._lookup.get(norm)


def _regex_pair(key: str) -> re.Pattern[str]:
    # "label": "positive" | 'label': 'positive' | **Label:** positive | label = positive
    return re.compile(
        r"[\"'*]*\b" + re.escape(key) + r"\b[\"'*]*\s*[:=]\s*[*\s]*([\"']?)([^\"'\n,}]*)",
        re.IGNORECASE,
    )


def _label_offset(text: str, key: str, raw_label: str) -> int | None:
    """Offset of the label value's first character after a quoted ``key: "`` in ``text``."""
    pat = re.compile(r"[\"']" + re.escape(key) + r"[\"']\s*:\s*[\"']", re.IGNORECASE)
    want = raw_label.strip().lower()
    for m in pat.finditer(text):
        if text[m.end() :].lower().startswith(want):
            return m.end()
    return None


def parse_answer(
    response: str | None, matcher: LabelMatcher, *, label_key: str = "label", reason_key: str = "reason"
) -> ParsedAnswer:
    """Read the label (and the rationale) from one teacher answer; see the module docstring."""
    text = (response or "").strip()
    if not text:
        return ParsedAnswer(None, None, "empty", None, None, None)
    lkey, rkey = label_key.strip().lower(), reason_key.strip().lower()
    raw_text = response or ""

    saw_object = False
    parsed_any = False
    for obj in _objects(raw_text):
        saw_object = True
        loaded = _load(obj)
        if loaded is None:
            continue
        data, method = loaded
        if not isinstance(data, (dict, list)):
            continue
        parsed_any = True
        found, value = _find_key(data, lkey)
        if not found:
            continue
        _, reason_value = _find_key(data, rkey)
        reason = _as_text(reason_value)
        raw_label = _as_text(value)
        return _finish(raw_text, matcher, lkey, raw_label, reason, method)

    # no object with the label key: a `label: value` pair anywhere (broken JSON, markdown)
    m = _regex_pair(lkey).search(raw_text)
    if m and m.group(2).strip(_STRIP):
        rm = _regex_pair(rkey).search(raw_text)
        reason = rm.group(2).strip() or None if rm else None
        return _finish(raw_text, matcher, lkey, m.group(2).strip(), reason, "regex")
    if parsed_any:
        return ParsedAnswer(None, None, "missing_label", None, None, None)
    return ParsedAnswer(None, None, "bad_json" if saw_object else "no_json", None, None, None)


def _finish(
    text: str, matcher: LabelMatcher, key: str, raw_label: str | None, reason: str | None, method: str
) -> ParsedAnswer:
    if raw_label is None:
        return ParsedAnswer(None, reason, "missing_label", None, None, None)
    label = matcher.match(raw_label)
    if label is None:
        return ParsedAnswer(None, reason, "unknown_label", None, raw_label, None)
    return ParsedAnswer(label, reason, None, method, raw_label, _label_offset(text, key, raw_label))
