"""SentiBench metrics (Table 1): macro-F1, tuple micro-F1 and the sentiment-graph F1.

* Classification: macro-F1 as ``sklearn.metrics.f1_score(average="macro")`` -- the authors'
  metric -- i.e. the mean per-label F1 over the labels present in gold or predictions; or,
  with ``labels=``, over a fixed label set (a label absent from both scores 0, sklearn's
  ``zero_division=0``). Accuracy alongside.
* ATSA/ACSA/ASQP: micro-F1 over exact tuples, compared per example as sets.
* SSA: the weighted tuple F1 of SemEval-2022 Task 10 (structured sentiment analysis), the
  official scorer that the authors' ``parse_utils/ssa.py`` copies: spans become token-index
  sets, a predicted opinion is a true positive when its holder, target and expression overlap
  a gold opinion's and the polarities agree, weighted by the span overlap.
"""

from __future__ import annotations

import json
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

# ----------------------------------------------------------------------------------------
# Classification
# ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClassificationScores:
    macro_f1: float
    accuracy: float
    per_label_f1: dict[str, float]  # over the labels the macro average used
    labels: tuple[str, ...]  # the labels averaged over
    n: int
    n_invalid: int  # predictions that are None (no label could be read)


def _per_label_f1(gold: Sequence[Hashable], pred: Sequence[Hashable | None], label: Hashable) -> float:
    tp = sum(1 for g, p in zip(gold, pred) if g == label and p == label)
    fp = sum(1 for g, p in zip(gold, pred) if g != label and p == label)
    fn = sum(1 for g, p in zip(gold, pred) if g == label and p != label)
    denom = 2 * tp + fp + fn
    return 2 * tp / denom if denom else 0.0  # F1 = 2tp / (2tp + fp + fn); 0/0 -> 0


def classification_scores(
    gold: Sequence[str], pred: Sequence[str | None], labels: Sequence[str] | None = None
) -> ClassificationScores:
    """Macro-F1 and accuracy.

    ``labels=None`` (the authors' setting): average over the sorted union of labels present in
    ``gold`` and ``pred`` -- a class that is in the label set but never occurs in either does
    not count, a class that is only predicted counts with F1 0. With ``labels``: average over
    exactly those labels. A ``None`` prediction (unreadable output in generate mode) is wrong
    for its example but is never a class of its own.
    """
    if len(gold) != len(pred):
        raise ValueError(f"{len(gold)} gold labels but {len(pred)} predictions")
    if not gold:
        raise ValueError("no examples to score")
    if labels is None:
        labels = sorted({*gold, *(p for p in pred if p is not None)})
    per = {lab: _per_label_f1(gold, pred, lab) for lab in labels}
    return ClassificationScores(
        macro_f1=sum(per.values()) / len(per) if per else 0.0,
        accuracy=sum(1 for g, p in zip(gold, pred) if g == p) / len(gold),
        per_label_f1=per,
        labels=tuple(labels),
        n=len(gold),
        n_invalid=sum(1 for p in pred if p is None),
    )


def macro_f1(gold: Sequence[str], pred: Sequence[str | None], labels: Sequence[str] | None = None) -> float:
    """Macro-F1 (see :func:`classification_scores` for the label set)."""
    return classification_scores(gold, pred, labels).macro_f1


def accuracy(gold: Sequence[str], pred: Sequence[str | None]) -> float:
    return classification_scores(gold, pred).accuracy


# ----------------------------------------------------------------------------------------
# Exact-tuple micro-F1 (ATSA, ACSA, ASQP)
# ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PRF:
    precision: float
    recall: float
    f1: float
    n_pred: int  # predicted tuples (after per-example de-duplication)
    n_gold: int  # gold tuples (after per-example de-duplication)
    tp: float  # true positives (weighted for the sentiment-graph F1)


def _f1(p: float, r: float) -> float:
    return 2 * p * r / (p + r) if p + r else 0.0


def tuple_micro_f1(golds: Sequence[Iterable[tuple]], preds: Sequence[Iterable[tuple]]) -> PRF:
    """Micro-F1 over exact tuples; each example's gold and predictions are sets.

    precision = tp / |pred| (1.0 when nothing at all is predicted, as the authors),
    recall = tp / |gold| (1.0 when there is no gold tuple at all).
    """
    if len(golds) != len(preds):
        raise ValueError(f"{len(golds)} gold examples but {len(preds)} predictions")
    tp = n_pred = n_gold = 0
    for g, p in zip(golds, preds):
        gs, ps = {tuple(t) for t in g}, {tuple(t) for t in p}
        tp += len(gs & ps)
        n_pred += len(ps)
        n_gold += len(gs)
    precision = tp / n_pred if n_pred else 1.0
    recall = tp / n_gold if n_gold else 1.0
    return PRF(precision, recall, _f1(precision, recall), n_pred, n_gold, tp)


def gold_tuples(gold_json: str) -> list[tuple[str, ...]]:
    """The gold tuples of a parquet row's ``gold_json``."""
    return [tuple(t) for t in json.loads(gold_json)]


# ----------------------------------------------------------------------------------------
# Sentiment-graph F1 (SSA, SemEval-2022 Task 10)
# ----------------------------------------------------------------------------------------

#: The sentinel an empty holder/target becomes, so that "no holder" matches "no holder".
EMPTY_SENTINEL = "_"

#: One opinion as the scorer sees it: token-index sets of holder, target, expression + polarity.
SentTuple = tuple[frozenset, frozenset, frozenset, str]


def space_span_tokenize(text: str) -> list[tuple[int, int]]:
    """Character spans of the tokens of ``text`` split on single spaces.

    Same result as ``nltk.tokenize.SpaceTokenizer().span_tokenize`` (the official scorer's
    tokenizer): only a leading separator is skipped; two consecutive spaces make an empty
    token ``(i, i)`` and a trailing space makes none.
    """
    spans: list[tuple[int, int]] = []
    left = 0
    while True:
        right = text.find(" ", left)
        if right == -1:
            if left != len(text):
                spans.append((left, len(text)))
            return spans
        if right != 0:
            spans.append((left, right))
        left = right + 1


def char_spans_to_token_ids(char_spans: Iterable[str], token_spans: Sequence[tuple[int, int]]) -> frozenset[int]:
    """Token indices covered by "b:e" char spans, exactly as the official scorer.

    A span collects tokens from the one that starts at ``b`` through the one that ends at
    ``e``; a span that starts inside a token gets nothing, one whose end is inside a token
    runs to the end of the sentence (scorer behaviour, kept for comparability).
    """
    ids: list[int] = []
    for span in char_spans:
        b_s, e_s = span.split(":")
        b, e = int(b_s), int(e_s)
        inside = False
        for i, (tb, te) in enumerate(token_spans):
            if tb == b:
                inside = True
            if inside:
                ids.append(i)
            if te == e:
                inside = False
    return frozenset(ids)


def ssa_gold_tuples(sentence: str, opinions: Iterable[Mapping[str, Any]]) -> list[SentTuple]:
    """Gold opinions (parquet ``opinions``: ``holder_spans`` etc.) as scorer tuples.

    Every opinion counts (no de-duplication); a sentence without opinions has none.
    """
    tokens = space_span_tokenize(sentence)
    return [
        (
            char_spans_to_token_ids(op["holder_spans"], tokens),
            char_spans_to_token_ids(op["target_spans"], tokens),
            char_spans_to_token_ids(op["expression_spans"], tokens),
            str(op["polarity"]).lower(),
        )
        for op in opinions
    ]


def locate(sentence: str, text: str, null: str = "NULL") -> list[str]:
    """Char spans "b:e" of a predicted field: split on ' AND ' (how multi-span gold fields
    are written in the labels), each part found with ``str.find`` (first occurrence).
    'NULL', empty and not-found parts give no span."""
    spans = []
    for part in text.split(" AND "):
        part = part.strip()
        if not part or part == null:
            continue
        b = sentence.find(part)
        if b != -1:
            spans.append(f"{b}:{b + len(part)}")
    return spans


def ssa_pred_tuples(sentence: str, tuples: Iterable[Sequence[str]], *, drop_all_null: bool = False) -> list[SentTuple]:
    """Predicted (holder, target, expression, polarity) strings as scorer tuples.

    Follows the authors' ``parse_to_origin``: a prediction is scored even when a span cannot
    be found (its set is empty, so it cannot be a true positive but counts as predicted).
    This includes the all-'NULL' tuple the prompt asks for when a sentence has no opinion:
    the authors score it as a false positive. ``drop_all_null=True`` instead reads it as
    "no opinion" (not the paper's setting).

    Deviations from the authors (documented): the holder is split on ' AND ' like target and
    expression (they split only those, on a bare 'AND'); an empty string finds no span (for
    them ``find('')`` is 0 and the span swallows the sentence).
    """
    tokens = space_span_tokenize(sentence)
    out: list[SentTuple] = []
    for holder, target, expression, polarity in tuples:
        if drop_all_null and all(str(x).strip() == "NULL" for x in (holder, target, expression, polarity)):
            continue
        out.append(
            (
                char_spans_to_token_ids(locate(sentence, holder), tokens),
                char_spans_to_token_ids(locate(sentence, target), tokens),
                char_spans_to_token_ids(locate(sentence, expression), tokens),
                str(polarity).strip().lower(),
            )
        )
    return out


def _sentinel(s: frozenset) -> frozenset:
    return s if s else frozenset([EMPTY_SENTINEL])


def _overlaps(a: SentTuple, b: SentTuple) -> bool:
    return bool(_sentinel(a[0]) & _sentinel(b[0]) and _sentinel(a[1]) & _sentinel(b[1]) and a[2] & b[2])


def _is_matched(t: SentTuple, others: Sequence[SentTuple]) -> bool:
    """Holder, target and expression all intersect some other tuple's, with equal polarity."""
    return any(_overlaps(t, o) and t[3] == o[3] for o in others)


def _best_overlap(t: SentTuple, others: Sequence[SentTuple]) -> float:
    """Max over overlapping tuples of the mean of |t_x & o_x| / |t_x| for x in (h, t, e).

    As the official scorer, the best overlap is taken over all overlapping tuples, whatever
    their polarity (the polarity only decides whether ``t`` is a true positive at all).
    """
    best = 0.0
    th, tt, te = _sentinel(t[0]), _sentinel(t[1]), t[2]
    for o in others:
        if not _overlaps(t, o):
            continue
        oh, ot, oe = _sentinel(o[0]), _sentinel(o[1]), o[2]
        score = (len(th & oh) / len(th) + len(tt & ot) / len(tt) + len(te & oe) / len(te)) / 3
        best = max(best, score)
    return best


def sentiment_graph_f1(golds: Sequence[Sequence[SentTuple]], preds: Sequence[Sequence[SentTuple]]) -> PRF:
    """Weighted tuple F1 of SemEval-2022 Task 10 over aligned examples.

    precision = sum over matched predictions of their best overlap with gold / #predictions;
    recall    = sum over matched gold opinions of their best overlap with predictions / #gold;
    0 when the denominator is 0; F1 the harmonic mean (0 when both are 0).
    """
    if len(golds) != len(preds):
        raise ValueError(f"{len(golds)} gold examples but {len(preds)} predictions")
    w_prec = w_rec = 0.0
    n_pred = n_gold = 0
    for g, p in zip(golds, preds):
        for t in p:
            n_pred += 1
            if _is_matched(t, g):
                w_prec += _best_overlap(t, g)
        for t in g:
            n_gold += 1
            if _is_matched(t, p):
                w_rec += _best_overlap(t, p)
    precision = w_prec / n_pred if n_pred else 0.0
    recall = w_rec / n_gold if n_gold else 0.0
    return PRF(precision, recall, _f1(precision, recall), n_pred, n_gold, w_prec)


def ssa_f1(
    sentences: Sequence[str],
    gold_opinions: Sequence[Iterable[Mapping[str, Any]]],
    pred_tuples: Sequence[Iterable[Sequence[str]]],
    *,
    drop_all_null: bool = False,
) -> PRF:
    """Convenience: sentiment-graph F1 from parquet ``opinions`` and parsed predictions."""
    golds = [ssa_gold_tuples(s, ops) for s, ops in zip(sentences, gold_opinions, strict=True)]
    preds = [ssa_pred_tuples(s, ts, drop_all_null=drop_all_null) for s, ts in zip(sentences, pred_tuples, strict=True)]
    return sentiment_graph_f1(golds, preds)
