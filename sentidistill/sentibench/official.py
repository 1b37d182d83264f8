"""The authors' fine-grained answer rules (``sentibench.eval.parser: official``), reimplemented.

SentiBench numbers are comparable with the paper's Table 2 only when an answer is read the
way the authors' released scorer reads it (HITSZ-HLT/Sentiment-Distillation @2810fc2:
``fsa.py`` and ``parse_utils/{atsa,acsa,asqp,ssa}.py``). This module reproduces their
*behaviour* step by step, including the parts that look like accidents, because those decide
the published numbers:

1. **Answer line.** ``fsa.py`` decodes prompt + generation and keeps the text after the
   query's ``Label:`` (the (k+1)-th ``Label:`` for k demonstrations), leading whitespace
   skipped, up to the first newline or ``Sentence:``. An answer in a code fence is therefore
   the line `` ```python `` -- an empty answer.
2. **Cleaning.** Remove `` ```python `` and `` ``` ``, strip, join ``[\\n`` / ``\\n]``, keep the
   last line; ATSA and ACSA also delete ``Label:``.
3. **Literal.** ``ast.literal_eval`` of what is left.

   * ATSA: nothing else; a failure is an empty answer. A flat pair is wrapped; a list of
     lists of tuples keeps only its *last* inner list.
   * ACSA, ASQP, SSA: on failure, cut after the last ``)`` and append ``]`` (or just append
     ``]``) and try once more; ACSA and ASQP then keep at most **three** distinct tuples.
     The authors take ``[:3]`` of a ``set`` -- Python's string hashing is salted per process,
     so which three survive varies from run to run there. Here the three are the first
     three distinct tuples **in answer order** (deterministic; documented in
     docs/sentibench.md).
   * ASQP and SSA de-duplicate the literal's items (a set), the others do not.
4. **Items.**

   * ATSA/ACSA: a tuple/list must have two fields, a string is split at ``,``, ``-`` or
     ``|``; fields are stripped; a wrong polarity (ATSA also: an aspect not in the sentence)
     makes the item ``False``, which still *counts as a prediction* (a false positive). If
     any item raises instead (wrong arity, non-string field), the whole answer is kept
     unvalidated: its raw items are the predictions (only a tuple of strings can match).
     The ACSA fallback of step 3 returns its tuples unvalidated as well.
   * ASQP: items of length != 4 are dropped; a non-string field makes the authors' code
     crash (``None.strip()``): scored here as unparseable, with status ``scorer_crash``.
   * SSA: any item of length != 4 drops the whole sentence's predictions; a non-string
     target, expression or polarity crashes the authors' code (``scorer_crash``).
5. **Scores.** ATSA/ACSA/ASQP: micro-F1 over lists (not sets) of (example, tuple): every
   prediction and every gold tuple counts, duplicates included; precision is 1 when nothing
   is predicted, recall 1 when there is no gold. SSA: spans are found with ``str.find``
   (the holder as written, unsplit; target and expression split at every ``AND``, each part
   stripped, an empty part matching at 0); the polarity is ``capitalize()``-d and compared
   with the gold polarity as written; sentences are keyed by their ``sent_id``.

The project never imports the authors' code: the rules are written here from reading it
and are pinned by hand-computed tests (tests/sentidistill/sentibench/test_official.py).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sentidistill.sentibench import metrics as M
from sentidistill.sentibench.parsing import ParseStatus

#: ``Label:``, then the answer: lazily up to optional whitespace before ``Sentence:``, a
#: newline or the end (fsa.py's ``extract_labels_from_text``; leading whitespace, newlines
#: included, is skipped).
_ANSWER = re.compile(r"Label:\s*(.*?)(?=\s*(?:Sentence:|\n|$))", re.DOTALL)
_ITEM_SEPARATORS = re.compile(r",|-|\|")
#: the polarities ATSA accepts (ACSA and SSA: without 'conflict')
_ATSA_POLARITIES = ("positive", "neutral", "negative", "conflict")
_POLARITIES = ("positive", "neutral", "negative")
#: how many tuples the ACSA/ASQP cut-off repair keeps
REPAIR_KEEP = 3
NULL = "NULL"


class ScorerCrash(Exception):
    """The authors' scorer would raise on this answer (e.g. ``None.strip()``)."""


@dataclass(frozen=True)
class OfficialParse:
    """What the authors' scorer would count for one answer.

    ``items``: one entry per counted prediction; a tuple of strings that can match a gold
    tuple, or ``None`` for a prediction that counts but can never match (``False`` items,
    raw non-tuple items). For SSA: (holder, target, expression, Polarity) as the span
    finder sees them.
    """

    items: tuple[tuple[str, ...] | None, ...]
    status: ParseStatus
    notes: tuple[str, ...] = field(default=())


def answer_line(prompt: str, output: str, k_shot: int) -> str:
    """The string ``fsa.py`` scores: the (k_shot+1)-th ``Label:`` answer of prompt + output.

    The authors count every ``Label:`` of the decoded text, the prompt's included, so a
    demonstration whose sentence contains ``Label:`` shifts the index -- reproduced.
    """
    answers = _ANSWER.findall(prompt + output)
    return answers[k_shot] if len(answers) > k_shot else ""


def _clean(text: str, drop_label: bool) -> str:
    text = text.replace("```python", "").replace("```", "").strip()
    text = text.replace("\n]", "]").replace("[\n", "[").split("\n")[-1]
    if drop_label:
        text = text.replace("Label:", "")
    return text.strip()


def _literal(text: str) -> Any:
    return ast.literal_eval(text)  # raises on anything that is not a Python literal


def _ordered_distinct(values: Any) -> list[Any]:
    """``set(values)`` in first-seen order (TypeError for unhashable items, as ``set``)."""
    return list(dict.fromkeys(values))


def _cut_repair(text: str, keep: int | None) -> list[tuple]:
    """The fallback: cut after the last ``)``, close with ``]``, distinct tuples[:keep]."""
    last = text.rfind(")")
    text = text[: last + 1] + "]" if last != -1 else text + "]"
    items = [tuple(it) for it in _ordered_distinct(_literal(text))]
    return items[:keep] if keep is not None else items


def _counted(values: Iterable[Any]) -> tuple[tuple[str, ...] | None, ...]:
    """Predictions as the F1 counts them: a tuple of strings can equal a gold tuple;
    anything else (``False``, lists, strings, numbers) counts but never matches."""
    try:
        items = list(values)
    except TypeError as exc:  # the authors' F1 iterates the predictions: a number crashes it
        raise ScorerCrash(f"predictions are not iterable: {values!r}") from exc
    return tuple(
        it if type(it) is tuple and all(type(x) is str for x in it) else None  # noqa: E721 (exact types, as ==)
        for it in items
    )


def _pair(item: Any, sentence: str | None, polarities: tuple[str, ...]) -> tuple[str, str] | bool:
    """One ATSA/ACSA item: (term, polarity), ``False`` when invalid; raises when malformed."""
    if type(item) in (tuple, list):
        term, polarity = item
    else:
        term, polarity = _ITEM_SEPARATORS.split(item)
    term, polarity = term.strip(), polarity.strip()
    if sentence is not None and term not in sentence:
        return False
    if polarity not in polarities:
        return False
    return term, polarity


def _pairs(
    text: str, sentence: str | None, polarities: tuple[str, ...], *, flatten: bool, repair: bool
) -> OfficialParse:
    """ATSA/ACSA: steps 2-4 of the module doc (``sentence`` None: no occurrence check)."""
    seq = _clean(text, drop_label=True)
    try:
        val = _literal(seq)
    except Exception:
        if not repair:
            return OfficialParse((), ParseStatus.UNPARSEABLE, ("no Python literal",))
        try:
            items = _cut_repair(seq, REPAIR_KEEP)
        except Exception:
            return OfficialParse((), ParseStatus.UNPARSEABLE, ("no Python literal, even cut at the last ')'",))
        return OfficialParse(_counted(items), ParseStatus.REPAIRED, ("cut at the last ')' and closed, unvalidated",))
    if type(val) not in (list, tuple):
        return OfficialParse((), ParseStatus.UNPARSEABLE, (f"not a list: {type(val).__name__}",))
    if len(val) == 2 and type(val[0]) is str:
        val = [val]
    notes: list[str] = []
    if flatten:
        try:
            if len(val) > 0 and len(val[0]) > 0 and type(val[0][0]) in (list, tuple):
                val, notes = val[-1], ["kept the last inner list of a nested list"]
        except Exception:
            return OfficialParse((), ParseStatus.UNPARSEABLE, ("malformed nested list",))
    try:
        out: Any = [_pair(it, sentence, polarities) for it in val if it]
    except Exception:
        out, notes = val, [*notes, "an item is malformed: the raw items are the predictions"]
    items = _counted(out)
    if not items:
        return OfficialParse((), ParseStatus.EMPTY_LIST, tuple(notes))
    invalid = sum(1 for it in items if it is None)
    if invalid:
        notes.append(f"{invalid} invalid item(s) count as false positives")
    return OfficialParse(items, ParseStatus.PARTIAL if invalid or notes else ParseStatus.OK, tuple(notes))


def parse_atsa(text: str, sentence: str) -> OfficialParse:
    """``parse_utils/atsa.py``: no repair; the aspect must occur in the sentence."""
    return _pairs(text, sentence, _ATSA_POLARITIES, flatten=True, repair=False)


def parse_acsa(text: str) -> OfficialParse:
    """``parse_utils/acsa.py``: the cut-off repair keeps three tuples, unvalidated."""
    return _pairs(text, None, _POLARITIES, flatten=False, repair=True)


def _distinct_tuples(text: str, keep: int | None) -> tuple[list[tuple], ParseStatus, list[str]]:
    """ASQP/SSA step 3: the literal's distinct items as tuples, or the cut-off repair."""
    seq = _clean(text, drop_label=False)
    try:
        return [tuple(it) for it in _ordered_distinct(_literal(seq))], ParseStatus.OK, []
    except Exception:
        try:
            kept = "" if keep is None else f", kept at most {keep} tuples"
            return _cut_repair(seq, keep), ParseStatus.REPAIRED, [f"cut at the last ')' and closed{kept}"]
        except Exception:
            return [], ParseStatus.UNPARSEABLE, ["no Python literal, even cut at the last ')'"]


def parse_asqp(text: str) -> OfficialParse:
    """``parse_utils/asqp.py``: quads of 4 stripped strings; other lengths dropped."""
    items, status, notes = _distinct_tuples(text, REPAIR_KEEP)
    quads: list[tuple[str, ...] | None] = []
    dropped = 0
    for it in items:
        if len(it) != 4:
            dropped += 1
            continue
        try:
            quads.append(tuple(x.strip() for x in it))
        except AttributeError:
            return OfficialParse(
                (), ParseStatus.SCORER_CRASH, (f"non-string field in {it!r}: the authors' scorer crashes",)
            )
    counted = _counted(quads)
    if dropped:
        notes.append(f"dropped {dropped} item(s) of length != 4")
    if status is ParseStatus.OK:
        status = ParseStatus.PARTIAL if dropped else (ParseStatus.OK if counted else ParseStatus.EMPTY_LIST)
    return OfficialParse(counted, status, tuple(notes))


def parse_ssa(text: str) -> OfficialParse:
    """``parse_utils/ssa.py``: the sentence's tuples as ``parse_to_origin`` reads them."""
    items, status, notes = _distinct_tuples(text, None)
    for it in items:  # parse_seq runs first: it strips target, expression and polarity
        if len(it) == 4:
            try:
                it[1].strip(), it[2].strip(), it[3].strip()
            except AttributeError:
                return OfficialParse(
                    (), ParseStatus.SCORER_CRASH, (f"non-string field in {it!r}: the authors' scorer crashes",)
                )
    if any(len(it) != 4 for it in items):
        return OfficialParse((), ParseStatus.PARTIAL, (*notes, "an item of length != 4 drops the sentence"))
    out: list[tuple[str, ...] | None] = []
    for holder, target, expression, polarity in items:
        fields = [x if type(x) is str else NULL for x in (holder, target, expression)]
        pol = polarity.capitalize()
        out.append((*fields, pol) if type(pol) is str else None)
    if status is ParseStatus.OK and not out:
        status = ParseStatus.EMPTY_LIST
    return OfficialParse(tuple(out), status, tuple(notes))


def parse(kind: str, text: str, sentence: str) -> OfficialParse:
    """The official parse of one answer line of a fine-grained dataset."""
    parsers = {
        "atsa": lambda: parse_atsa(text, sentence),
        "acsa": lambda: parse_acsa(text),
        "asqp": lambda: parse_asqp(text),
        "ssa": lambda: parse_ssa(text),
    }
    if kind not in parsers:
        raise ValueError(f"no official fine-grained parser for kind {kind!r}")
    try:
        return parsers[kind]()
    except ScorerCrash as exc:
        return OfficialParse((), ParseStatus.SCORER_CRASH, (f"{exc}: the authors' scorer crashes",))


# ----------------------------------------------------------------------------- scores
def micro_f1(golds: Sequence[Sequence[tuple]], preds: Sequence[Sequence[tuple | None]]) -> M.PRF:
    """The authors' ``F1Measure``: counts over lists of (example, tuple), duplicates kept."""
    if len(golds) != len(preds):
        raise ValueError(f"{len(golds)} gold examples but {len(preds)} predictions")
    tp_pred = tp_gold = n_pred = n_gold = 0
    for gold, pred in zip(golds, preds):
        gold = [tuple(t) for t in gold]
        pred = [tuple(t) if t is not None else None for t in pred]
        n_pred += len(pred)
        n_gold += len(gold)
        tp_pred += sum(1 for t in pred if t is not None and t in gold)
        tp_gold += sum(1 for t in gold if t in pred)
    precision = tp_pred / n_pred if n_pred else 1.0
    recall = tp_gold / n_gold if n_gold else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return M.PRF(precision, recall, f1, n_pred, n_gold, tp_pred)


def _find_spans(sentence: str, parts: Iterable[str]) -> list[str]:
    spans = []
    for part in parts:
        begin = sentence.find(part)
        if begin != -1:
            spans.append(f"{begin}:{begin + len(part)}")
    return spans


def ssa_pred_tuples(sentence: str, items: Iterable[tuple[str, ...] | None]) -> list[M.SentTuple]:
    """``parse_to_origin`` + ``convert_opinion_to_tuple`` on one sentence's parsed items."""
    tokens = M.space_span_tokenize(sentence)
    out: list[M.SentTuple] = []
    for item in items:
        if item is None:  # a non-string polarity: counted, never equal to a gold polarity
            holder, target, expression, polarity = NULL, NULL, NULL, "\x00"
        else:
            holder, target, expression, polarity = item
        holder_spans = [] if holder == NULL else _find_spans(sentence, [holder])
        target_spans = _find_spans(sentence, [p.strip() for p in target.split("AND")])
        expression_spans = _find_spans(sentence, [p.strip() for p in expression.split("AND")])
        out.append(
            (
                M.char_spans_to_token_ids(holder_spans, tokens),
                M.char_spans_to_token_ids(target_spans, tokens),
                M.char_spans_to_token_ids(expression_spans, tokens),
                polarity,
            )
        )
    return out


def ssa_gold_tuples(sentence: str, opinions: Iterable[Mapping[str, Any]]) -> list[M.SentTuple]:
    """Gold opinions with the polarity as the raw data writes it (``Positive``)."""
    return [(h, t, e, str(p).capitalize()) for h, t, e, p in M.ssa_gold_tuples(sentence, opinions)]


def ssa_f1(
    sent_ids: Sequence[str],
    sentences: Sequence[str],
    gold_opinions: Sequence[Iterable[Mapping[str, Any]]],
    pred_items: Sequence[Iterable[tuple[str, ...] | None]],
) -> M.PRF:
    """The authors' SSA score: sentences keyed by ``sent_id`` (a repeated id keeps its last
    sentence, as their ``dict``), then the sentiment-graph F1 of SemEval-2022 Task 10."""
    golds: dict[str, list[M.SentTuple]] = {}
    preds: dict[str, list[M.SentTuple]] = {}
    for sid, sentence, ops, items in zip(sent_ids, sentences, gold_opinions, pred_items, strict=True):
        golds[sid] = ssa_gold_tuples(sentence, ops)
        preds[sid] = ssa_pred_tuples(sentence, items)
    keys = list(preds)
    return M.sentiment_graph_f1([golds[k] for k in keys], [preds[k] for k in keys])
