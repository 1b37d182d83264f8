"""SentiBench metrics on hand-computed cases (the arithmetic is in the comments)."""

from __future__ import annotations

import random

import pytest

from sentidistill.sentibench.metrics import (
    accuracy,
    char_spans_to_token_ids,
    classification_scores,
    gold_tuples,
    locate,
    macro_f1,
    sentiment_graph_f1,
    space_span_tokenize,
    ssa_f1,
    ssa_gold_tuples,
    ssa_pred_tuples,
    tuple_micro_f1,
)

# ---------------------------------------------------------------------------------------
# Classification
# ---------------------------------------------------------------------------------------


def test_macro_f1_with_a_class_only_predicted():
    gold = ["positive", "positive", "negative", "negative"]
    pred = ["positive", "negative", "negative", "neutral"]
    # per label F1 = 2tp / (2tp + fp + fn)
    #   positive: tp=1 fp=0 fn=1 -> 2/3
    #   negative: tp=1 fp=1 fn=1 -> 2/4 = 1/2
    #   neutral:  tp=0 fp=1 fn=0 -> 0        (predicted, never gold: counts, as in sklearn)
    # macro over gold ∪ pred = (2/3 + 1/2 + 0) / 3 = 7/18
    assert macro_f1(gold, pred) == pytest.approx(7 / 18)
    # fixed label set without 'neutral': (2/3 + 1/2) / 2 = 7/12
    assert macro_f1(gold, pred, labels=["negative", "positive"]) == pytest.approx(7 / 12)
    assert accuracy(gold, pred) == pytest.approx(2 / 4)


def test_macro_f1_with_a_class_absent_from_gold_and_pred():
    gold = ["positive", "positive", "negative", "negative"]
    pred = ["positive", "negative", "negative", "negative"]
    # positive: tp=1 fp=0 fn=1 -> 2/3;  negative: tp=2 fp=1 fn=0 -> 4/5
    # sklearn default (labels present): (2/3 + 4/5) / 2 = 11/15 -- 'neutral' does not count
    s = classification_scores(gold, pred)
    assert s.macro_f1 == pytest.approx(11 / 15)
    assert s.labels == ("negative", "positive")
    # over Twitter's fixed label set the absent class scores 0: (2/3 + 4/5 + 0) / 3 = 22/45
    assert macro_f1(gold, pred, labels=["negative", "positive", "neutral"]) == pytest.approx(22 / 45)
    assert s.accuracy == pytest.approx(3 / 4)


def test_unreadable_prediction_is_wrong_but_not_a_class():
    # positive: tp=1 -> 1;  negative: tp=0 fp=0 fn=1 -> 0;  macro = 1/2; no "None" class
    s = classification_scores(["positive", "negative"], ["positive", None])
    assert (s.macro_f1, s.accuracy, s.n_invalid, s.labels) == (0.5, 0.5, 1, ("negative", "positive"))


def test_macro_f1_equals_sklearn():
    metrics = pytest.importorskip("sklearn.metrics")
    rng = random.Random(0)
    labels = ["anger", "joy", "sadness", "optimism"]
    for _ in range(50):
        n = rng.randint(1, 30)
        gold = [rng.choice(labels[:3]) for _ in range(n)]  # 'optimism' may be only predicted
        pred = [rng.choice(labels) for _ in range(n)]
        assert macro_f1(gold, pred) == pytest.approx(metrics.f1_score(gold, pred, average="macro", zero_division=0))
        assert macro_f1(gold, pred, labels) == pytest.approx(
            metrics.f1_score(gold, pred, labels=labels, average="macro", zero_division=0)
        )


def test_classification_input_errors():
    with pytest.raises(ValueError, match="2 gold labels but 1"):
        macro_f1(["a", "b"], ["a"])
    with pytest.raises(ValueError, match="no examples"):
        macro_f1([], [])


# ---------------------------------------------------------------------------------------
# Exact-tuple micro-F1
# ---------------------------------------------------------------------------------------


def test_tuple_micro_f1_with_duplicates():
    golds = [
        [("a", "positive"), ("b", "negative"), ("b", "negative")],  # gold duplicate -> counted once
        [("d", "neutral")],
        [],
    ]
    preds = [
        [("a", "positive"), ("a", "positive"), ("c", "positive")],  # duplicate prediction collapses
        [],
        [("e", "positive")],
    ]
    # ex1: gold {a+, b-}, pred {a+, c+} -> tp 1, |pred| 2, |gold| 2
    # ex2: tp 0, |pred| 0, |gold| 1;   ex3: tp 0, |pred| 1, |gold| 0
    # P = 1/3, R = 1/3, F1 = 1/3
    r = tuple_micro_f1(golds, preds)
    assert (r.tp, r.n_pred, r.n_gold) == (1, 3, 3)
    assert (r.precision, r.recall, r.f1) == pytest.approx((1 / 3, 1 / 3, 1 / 3))


def test_tuple_micro_f1_edge_cases():
    # no prediction at all: precision 1 (as the authors), recall 0, F1 0
    r = tuple_micro_f1([[("a", "positive")]], [[]])
    assert (r.precision, r.recall, r.f1) == (1.0, 0.0, 0.0)
    # exact match only: polarity or surface form differences are misses
    r = tuple_micro_f1([[("pizza", "positive")]], [[("Pizza", "positive"), ("pizza", "neutral")]])
    assert (r.tp, r.precision, r.recall) == (0, 0.0, 0.0)
    # quads, order matters inside a tuple (ASQP: category, aspect, opinion, sentiment)
    g = [("food quality", "pizza", "great", "positive")]
    assert tuple_micro_f1([g], [g]).f1 == 1.0
    assert tuple_micro_f1([g], [[("pizza", "food quality", "great", "positive")]]).f1 == 0.0


def test_gold_tuples_from_gold_json():
    assert gold_tuples('[["ravioli", "positive"]]') == [("ravioli", "positive")]


# ---------------------------------------------------------------------------------------
# Sentiment-graph F1 (SSA)
# ---------------------------------------------------------------------------------------


def test_space_tokenizer_matches_nltk_doctest():
    # nltk.tokenize.util.string_span_tokenize doctest: double space -> empty token (37, 37)
    s = "Good muffins cost $3.88\nin New York.  Please buy me\ntwo of them.\n\nThanks."
    assert space_span_tokenize(s) == [
        (0, 4),
        (5, 12),
        (13, 17),
        (18, 26),
        (27, 30),
        (31, 36),
        (37, 37),
        (38, 44),
        (45, 48),
        (49, 55),
        (56, 58),
        (59, 73),
    ]
    assert space_span_tokenize(" a b ") == [(1, 2), (3, 4)]  # leading sep skipped, no trailing token
    assert space_span_tokenize("") == []


def test_char_spans_to_token_ids_scorer_semantics():
    toks = space_span_tokenize("the very nice room")  # (0,3) (4,8) (9,13) (14,18)
    assert char_spans_to_token_ids(["4:13"], toks) == {1, 2}
    assert char_spans_to_token_ids(["4:8", "14:18"], toks) == {1, 3}
    assert char_spans_to_token_ids(["5:8"], toks) == frozenset()  # starts inside a token
    assert char_spans_to_token_ids(["4:6"], toks) == {1, 2, 3}  # ends inside: runs to the end


SENT = "The staff was very friendly but the room was small"
# tokens: 0 The | 1 staff | 2 was | 3 very | 4 friendly | 5 but | 6 the | 7 room | 8 was | 9 small
GOLD_OPS = [
    {"holder_spans": [], "target_spans": ["4:9"], "expression_spans": ["14:27"], "polarity": "positive"},
    {"holder_spans": [], "target_spans": ["32:40"], "expression_spans": ["45:50"], "polarity": "negative"},
]


def test_sentiment_graph_f1_partial_overlap_and_null_holders():
    # gold G1 = (h {}→{_}, t {1}, e {3,4}, +)   G2 = (h {}→{_}, t {6,7}, e {9}, -)
    preds = [
        ("NULL", "staff", "friendly", "positive"),  # P1 = ({_}, {1}, {4}, +): matches G1
        ("NULL", "room", "small", "positive"),  # P2 = ({_}, {7}, {9}, +): overlaps G2, wrong polarity
        ("The", "the room", "small", "negative"),  # P3 = ({0}, {6,7}, {9}, -): holder {0} vs gold {_}
    ]
    # Precision (overlap / |pred span|): P1 vs G1 = (1/1 + 1/1 + |{4}|/|{4}|)/3 = 1; P2, P3 no match
    #   P = 1 / 3
    # Recall (overlap / |gold span|): G1 vs P1 = (1 + 1 + |{4}|/|{3,4}|)/3 = (1 + 1 + 1/2)/3 = 5/6
    #   G2: no prediction matches (P2 polarity, P3 holder)           R = (5/6) / 2 = 5/12
    # F1 = 2 * 1/3 * 5/12 / (1/3 + 5/12) = (10/36) / (9/12) = 10/27
    r = ssa_f1([SENT], [GOLD_OPS], [preds])
    assert (r.n_pred, r.n_gold) == (3, 2)
    assert (r.precision, r.recall, r.f1) == pytest.approx((1 / 3, 5 / 12, 10 / 27))


def test_sentiment_graph_f1_null_tuple_for_opinionless_sentence():
    # Gold has no opinion; the prompt tells the model to answer ('NULL', 'NULL', 'NULL', 'NULL').
    # As the authors, that tuple is scored (its expression set is empty -> never a match):
    # one false positive; P = 0/1, R = 0/0 -> 0, F1 0.
    r = ssa_f1(["Business and shopping"], [[]], [[("NULL", "NULL", "NULL", "NULL")]])
    assert (r.n_pred, r.n_gold, r.f1) == (1, 0, 0.0)
    # Opt-in reading of the NULL tuple as "no opinion": nothing predicted, nothing to find.
    r = ssa_f1(["Business and shopping"], [[]], [[("NULL", "NULL", "NULL", "NULL")]], drop_all_null=True)
    assert (r.n_pred, r.n_gold, r.f1) == (0, 0, 0.0)
    # With it, a perfect example next to the NULL one: P = 1/2 (faithful) vs 1 (opt-in)
    sents = ["Business and shopping", SENT]
    gold = [[], GOLD_OPS[:1]]
    pred = [[("NULL",) * 4], [("NULL", "staff", "very friendly", "positive")]]
    assert ssa_f1(sents, gold, pred).precision == pytest.approx(1 / 2)
    assert ssa_f1(sents, gold, pred, drop_all_null=True).f1 == pytest.approx(1.0)


def test_sentiment_graph_best_overlap_ignores_polarity_like_the_official_scorer():
    # One prediction P = ({_}, {1}, {3,4}, +); gold G1 = ({_}, {1}, {3}, +), G2 = ({_}, {1}, {3,4}, -).
    # P is a TP (G1 has its polarity); its weight is the best overlap with ANY overlapping gold:
    #   vs G1: (1 + 1 + |{3}|/|{3,4}|)/3 = 5/6;  vs G2: (1 + 1 + 1)/3 = 1  -> 1
    # Recall: G1 matched by P: (1 + 1 + |{3}|/|{3}|)/3 = 1; G2 unmatched (polarity) -> R = 1/2
    # P = 1, F1 = 2 * 1 * 1/2 / (3/2) = 2/3
    g1 = {"holder_spans": [], "target_spans": ["4:9"], "expression_spans": ["14:18"], "polarity": "positive"}
    g2 = {"holder_spans": [], "target_spans": ["4:9"], "expression_spans": ["14:27"], "polarity": "negative"}
    r = ssa_f1([SENT], [[g1, g2]], [[("NULL", "staff", "very friendly", "positive")]])
    assert (r.precision, r.recall, r.f1) == pytest.approx((1.0, 0.5, 2 / 3))


def test_multi_span_fields_and_not_found_spans():
    # ' AND ' separates the spans of one field (how the gold labels join them)
    assert locate(SENT, "staff AND room") == ["4:9", "36:40"]
    assert locate(SENT, "NULL") == [] and locate(SENT, "pool") == [] and locate(SENT, "") == []
    gold = [
        {"holder_spans": [], "target_spans": ["4:9", "36:40"], "expression_spans": ["45:50"], "polarity": "Negative"}
    ]
    (g,) = ssa_gold_tuples(SENT, gold)
    assert g == (frozenset(), frozenset({1, 7}), frozenset({9}), "negative")
    (p,) = ssa_pred_tuples(SENT, [("NULL", "staff AND pool", "small", "NEGATIVE")])
    assert p == (frozenset(), frozenset({1}), frozenset({9}), "negative")
    # pred target {1} of gold {1,7}: precision overlap (1 + 1 + 1)/3 = 1, recall (1 + 1/2 + 1)/3 = 5/6
    r = sentiment_graph_f1([[g]], [[p]])
    assert (r.precision, r.recall) == pytest.approx((1.0, 5 / 6))


def test_sentiment_graph_f1_empty_and_errors():
    assert sentiment_graph_f1([[]], [[]]).f1 == 0.0
    with pytest.raises(ValueError, match="1 gold examples but 2"):
        sentiment_graph_f1([[]], [[], []])
