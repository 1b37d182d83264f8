"""Parsers for model outputs: Python tuple lists (fine-grained tasks) and class labels.

``parse_tuple_list`` is deliberately forgiving and reports how much it had to forgive, so
the eval can count parse statuses per dataset:

* ``ok``           a well-formed, non-empty list of well-formed tuples;
* ``repaired``     the answer needed a structural fix: a list cut off mid-tuple (truncated
                   after the last complete tuple and closed), a missing ``]``, or tuples
                   without the enclosing list;
* ``partial``      some (possibly all) items were dropped: wrong arity, non-tuple items,
                   non-string fields;
* ``empty_list``   the model answered ``[]``;
* ``unparseable``  no Python list/tuple literal could be recovered (an empty prediction).

This is the ``lenient`` parser (``sentibench.eval.parser``); the default ``official`` one,
which reads answers exactly as the authors' scorer, is :mod:`sentidistill.sentibench.official`.

Before looking for the literal we strip Markdown code fences and ``Label:`` prefixes; the
first list literal in the text wins, so trailing prose or a continued few-shot pattern is
ignored. Compared with the authors' parsers (which ``literal_eval`` the last line only),
this recovers more answers; differences are listed in the report/caveats.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from sentidistill.schemas.sentibench_datasets import DatasetSpec
from sentidistill.schemas.sentibench_predictions import ParseStatus


@dataclass(frozen=True)
class ParseResult:
    tuples: tuple[tuple[str, ...], ...]  # valid, whitespace-stripped, de-duplicated in order
    status: ParseStatus
    n_dropped: int = 0  # items removed (wrong arity / not a tuple / non-string field)
    notes: tuple[str, ...] = field(default=())  # what was repaired or dropped, for debugging


_FENCE = re.compile(r"```[A-Za-z0-9_+-]*")
_LABEL_PREFIX = re.compile(r"(?im)^\s*label\s*:\s*")


def answer_end(text: str) -> int | None:
    """Where a complete SentiBench answer ends in ``text`` (the prefix to keep), None while it
    is not complete -- the stop criterion generation uses (``GenerationParams.stop_when``).

    The authors' evaluation keeps the first non-empty line after ``Label:``. A fenced block
    (```python ... ```) is complete at its closing fence, so code fences still parse. Stopping
    there yields the same extracted answer as generating all 150 tokens, at a fraction of the cost.
    """
    body = text.lstrip()
    if not body:
        return None
    if body.startswith("```"):
        end = body.find("```", 3)
        return None if end < 0 else len(text) - len(body) + end + 3
    end = body.find("\n")
    return None if end < 0 else len(text) - len(body) + end + 1


def _clean(text: str) -> str:
    text = _FENCE.sub("\n", text)
    return _LABEL_PREFIX.sub("", text).strip()


def _chars(text: str, start: int = 0) -> Iterator[tuple[int, str, bool]]:
    """``(index, char, is_code)`` from ``text[start:]``; ``is_code`` is False inside a quoted
    string literal and for its quote marks (backslash escapes honoured)."""
    quote: str | None = None
    escaped = False
    for i in range(start, len(text)):
        ch = text[i]
        if quote:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == quote:
                quote = None
            yield i, ch, False
        elif ch in "'\"":
            quote = ch
            yield i, ch, False
        else:
            yield i, ch, True


def _scan(text: str, start: int) -> tuple[int | None, int | None]:
    """Scan a bracketed literal from ``text[start]`` (``[`` or ``(``), respecting quotes.

    Returns (end, last_item_end): ``end`` is the index just past the matching close bracket
    (None if the text ends first); ``last_item_end`` is the index just past the last item that
    closed at depth 1 (a complete tuple/list inside the outer list), for cut-off repair.
    """
    depth = 0
    last_item_end = None
    for i, ch, code in _chars(text, start):
        if not code:
            continue
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
            if depth == 0:
                return i + 1, last_item_end
            if depth == 1:
                last_item_end = i + 1
    return None, last_item_end


def _literal(src: str) -> Any:
    try:
        return ast.literal_eval(src)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return _FAIL


_FAIL = object()


def _split_items(body: str) -> list[str]:
    """Split the inside of a list at top-level commas (quote- and bracket-aware)."""
    items, depth, cur = [], 0, []
    for _, ch, code in _chars(body):
        if code and ch in "([{":
            depth += 1
        elif code and ch in ")]}":
            depth -= 1
        if code and ch == "," and depth == 0:
            items.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    items.append("".join(cur))
    return [it.strip() for it in items if it.strip()]


class _Salvaged(list):
    """Items recovered one by one from a list that does not evaluate as a whole."""

    def __init__(self, values: list[Any], n_unreadable: int) -> None:
        super().__init__(values)
        self.n_unreadable = n_unreadable


def _salvage(body: str) -> _Salvaged | None:
    values, bad = [], 0
    for src in _split_items(body):
        val = _literal(src)
        if val is _FAIL:
            bad += 1
        else:
            values.append(val)
    return _Salvaged(values, bad) if values else None


def _looks_like_answer(val: Any) -> bool:
    """A list that can be an answer: empty, holding tuples/lists, or a flat list of strings
    (not e.g. the "[1]" of a footnote)."""
    return isinstance(val, list) and (
        not val or any(isinstance(v, (tuple, list)) for v in val) or all(isinstance(v, str) for v in val)
    )


def _rebalance(text: str) -> str:
    """Insert the closers a mismatched bracket implies: "[('a', 'b']" -> "[('a', 'b')]"."""
    out: list[str] = []
    stack: list[str] = []
    pairs = {"(": ")", "[": "]", "{": "}"}
    for _, ch, code in _chars(text):
        if code and ch in pairs:
            stack.append(ch)
        elif code and ch in ")]}":
            while stack and pairs[stack[-1]] != ch and ch in [pairs[o] for o in stack]:
                out.append(pairs[stack.pop()])
            if stack and pairs[stack[-1]] == ch:
                stack.pop()
        out.append(ch)
    return "".join(out)


def _find_literal(text: str) -> tuple[Any, list[str]]:
    """The first list literal in ``text`` (or bare tuples) and the repairs it needed."""
    fixed = _rebalance(text)
    if fixed != text:
        val, repairs = _find_literal_once(fixed)
        if val is not _FAIL:
            return val, ["closed mismatched brackets", *repairs]
    return _find_literal_once(text)


def _find_literal_once(text: str) -> tuple[Any, list[str]]:
    pos = 0
    while (p := text.find("[", pos)) != -1:
        end, last_item_end = _scan(text, p)
        if end is not None:  # balanced '[...]'
            val = _literal(text[p:end])
            if _looks_like_answer(val):
                return val, []
            salvaged = _salvage(text[p + 1 : end - 1])
            if salvaged is not None and any(isinstance(v, (tuple, list)) for v in salvaged):
                return salvaged, ["read the list item by item"]
            pos = end  # not a list literal (e.g. "[note]"): look further, skipping its inside
            continue
        # cut off before its ']': keep the complete items and close the list
        if last_item_end is not None:
            val = _literal(text[p:last_item_end] + "]")
            if isinstance(val, list):
                return val, ["closed a list cut off after its last complete item"]
            salvaged = _salvage(text[p + 1 : last_item_end])
            if salvaged is not None:
                return salvaged, ["closed a list cut off after its last complete item", "read the list item by item"]
        val = _literal(text[p:].rstrip().rstrip(",") + "]")
        if isinstance(val, list):
            return val, ["added a missing ']'"]
        break
    # tuples without a list: "('a', 'b')" or "('a', 'b'), ('c', 'd')"
    first = text.find("(")
    if first != -1:
        end, _ = _scan(text, first)
        while end is not None:  # extend over a comma-separated run of tuples
            nxt = re.match(r"\s*,\s*\(", text[end:])
            if not nxt:
                break
            e2, _ = _scan(text, end + nxt.end() - 1)
            if e2 is None:
                break
            end = e2
        if end is not None:
            val = _literal(text[first:end])
            if isinstance(val, tuple) and val:
                if all(isinstance(v, (tuple, list)) for v in val):
                    return list(val), ["wrapped bare tuples in a list"]
                return [val], ["wrapped a single tuple in a list"]
    return _FAIL, []


def _normalize_item(item: Any, arity: int) -> tuple[str, ...] | str:
    """A valid tuple, or the reason it is dropped."""
    if not isinstance(item, (tuple, list)):
        return f"not a tuple: {item!r}"
    if len(item) != arity:
        return f"arity {len(item)} != {arity}: {item!r}"
    out = []
    for x in item:
        if x is None:  # a Python None where the prompt asks for 'NULL'
            x = "NULL"
        if not isinstance(x, str):
            return f"non-string field: {item!r}"
        out.append(x.strip())
    return tuple(out)


def parse_tuple_list(text: str | None, arity: int) -> ParseResult:
    """Parse a generated answer into ``arity``-tuples of strings (see module doc)."""
    if not text or not text.strip():
        return ParseResult((), ParseStatus.UNPARSEABLE, notes=("empty output",))
    val, repairs = _find_literal(_clean(text))
    if val is _FAIL:
        return ParseResult((), ParseStatus.UNPARSEABLE, notes=("no Python list literal found",))
    if not val:
        return ParseResult((), ParseStatus.REPAIRED if repairs else ParseStatus.EMPTY_LIST, notes=tuple(repairs))
    # a flat pair like ['ravioli', 'positive'] is one tuple, not two items
    if len(val) == arity and all(isinstance(v, str) for v in val):
        val, repairs = [tuple(val)], [*repairs, "wrapped a flat list as one tuple"]
    kept: list[tuple[str, ...]] = []
    dropped: list[str] = ["unreadable item"] * getattr(val, "n_unreadable", 0)
    for item in val:
        norm = _normalize_item(item, arity)
        if isinstance(norm, str):
            dropped.append(norm)
        elif norm not in kept:
            kept.append(norm)
    if dropped:
        status = ParseStatus.PARTIAL
    elif repairs:
        status = ParseStatus.REPAIRED
    else:
        status = ParseStatus.OK
    return ParseResult(tuple(kept), status, len(dropped), tuple(repairs + [f"dropped {d}" for d in dropped]))


def parse_fsa_output(text: str | None, spec: DatasetSpec) -> ParseResult:
    """``parse_tuple_list`` with the arity of ``spec`` (ATSA/ACSA 2, ASQP/SSA 4)."""
    if spec.arity is None:
        raise ValueError(f"{spec.key} is a classification dataset; use parse_label")
    return parse_tuple_list(text, spec.arity)


_STRIP_CHARS = " \t\"'`.,;:!*[]()<>"


def parse_label(text: str | None, labels: Sequence[str]) -> str | None:
    """Generate-mode fallback for classification: the label the first non-empty line names.

    The line is stripped of quotes/punctuation and lower-cased; an exact match wins, else the
    longest label the line starts with (as a whole word: "non-irony" is not "irony").
    Returns None when no label matches.
    """
    if not text:
        return None
    line = next((ln for ln in text.splitlines() if ln.strip()), "")
    line = _LABEL_PREFIX.sub("", line).strip().lower().strip(_STRIP_CHARS)
    lower = [lab.lower() for lab in labels]
    if line in lower:
        return labels[lower.index(line)]
    for lab, orig in sorted(zip(lower, labels), key=lambda t: -len(t[0])):
        if line.startswith(lab) and (len(line) == len(lab) or not (line[len(lab)].isalnum() or line[len(lab)] == "-")):
            return orig
    return None
