"""The authors' fine-grained scoring rules (parser: official), pinned by hand-computed F1s.

Every expected F1 below is worked out in the comments from the rules of the authors'
``fsa.py`` and ``parse_utils/{atsa,acsa,asqp,ssa}.py`` (see sentidistill/sentibench/official.py).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from fractions import Fraction

import pytest

from sentidistill.sentibench import official as O
from sentidistill.sentibench.parsing import ParseStatus

# a one-shot prompt as the evaluation builds it: the query's answer is the 2nd "Label:"
PROMPT = "Instruction.\n\nSentence: a demo\nLabel: []\n\nSentence: the query\nLabel:"
K = 1


def line(output: str) -> str:
    return O.answer_line(PROMPT, output, K)


def approx(frac: Fraction) -> pytest.approx:
    return pytest.approx(float(frac), abs=1e-12)


# ------------------------------------------------------------------------ answer line
@pytest.mark.parametrize(
    ("output", "expected"),
    [
        (" [('a', 'b')]", "[('a', 'b')]"),
        (" [('a', 'b')]  \nSentence: next\nLabel: [('c', 'd')]", "[('a', 'b')]"),  # the model continues the pattern
        (" [('a', 'b')] Sentence: next", "[('a', 'b')]"),  # "Sentence:" ends the answer on the same line
        ("\n\n  [('a', 'b')]\n", "[('a', 'b')]"),  # leading newlines are skipped
        (" ```python\n[('a', 'b')]\n```", "```python"),  # a fenced answer is its fence line
        ("", ""),
        ("   \n", ""),
        (" Label: [('a', 'b')]", "Label: [('a', 'b')]"),  # a repeated "Label:" stays in the line
    ],
)
def test_answer_line_is_the_queries_label_line(output, expected):
    assert line(output) == expected


def test_a_label_inside_a_demonstration_shifts_the_answer_as_in_the_authors_code():
    prompt = "I.\n\nSentence: see Label: x\nLabel: []\n\nSentence: q\nLabel:"
    # three "Label:" before the answer; the authors take index k_shot = 1: the demo's own label
    assert O.answer_line(prompt, " [('a', 'b')]", 1) == "[]"


# ------------------------------------------------------------------------------- ATSA
ATSA_SENTENCE = "The ravioli was great but the service was slow."
ATSA_GOLD = [("ravioli", "positive"), ("service", "negative")]


def test_atsa_f1_by_hand():
    outputs = [
        " [('ravioli', 'positive'), ('service', 'negative')]",  # 2 predictions, 2 correct
        " ```python\n[('ravioli', 'positive')]\n```",  # the fence line: 0 predictions
        " [('ravioli', 'positive', 'x'), ('service', 'negative')]",  # arity raises: raw items, 1 of 2 correct
        " [('ravioli', 'great'), ('service', 'negative')]",  # bad polarity -> False (counted), 1 of 2 correct
        " [('ravioli', 'positive'), ('serv",  # cut off: ATSA has no repair -> 0 predictions
        " Pairs: [('ravioli', 'positive')]",  # prose before the list: not a literal -> 0
        " [('ravioli', 'positive')] That is all.",  # prose after: not a literal -> 0
        " [(None, 'positive'), ('service', 'negative')]",  # None.strip() raises: raw items, 1 of 2 correct
    ]
    parsed = [O.parse_atsa(line(o), ATSA_SENTENCE) for o in outputs]
    assert [len(p.items) for p in parsed] == [2, 0, 2, 2, 0, 0, 0, 2]
    assert [p.status for p in parsed] == [
        ParseStatus.OK,
        ParseStatus.UNPARSEABLE,
        ParseStatus.PARTIAL,
        ParseStatus.PARTIAL,
        ParseStatus.UNPARSEABLE,
        ParseStatus.UNPARSEABLE,
        ParseStatus.UNPARSEABLE,
        ParseStatus.PARTIAL,
    ]
    prf = O.micro_f1([ATSA_GOLD] * len(outputs), [p.items for p in parsed])
    # predictions 2+2+2+2 = 8, of which 2+1+1+1 = 5 are gold; gold 8 x 2 = 16, of which 5 are predicted
    p, r = Fraction(5, 8), Fraction(5, 16)
    assert prf.precision == approx(p) and prf.recall == approx(r)
    assert prf.f1 == approx(2 * p * r / (p + r))


@pytest.mark.parametrize(
    ("answer", "items"),
    [
        ("['ravioli', 'positive']", [("ravioli", "positive")]),  # a flat pair is one tuple
        ("('ravioli', 'positive')", [("ravioli", "positive")]),
        # strings are split at ',', '-' or '|' ...
        (
            "['ravioli, positive', 'service-negative', 'service|negative']",
            [("ravioli", "positive"), ("service", "negative"), ("service", "negative")],
        ),
        # ... but two strings are first taken as one flat pair: ('ravioli, positive', 'service-negative')
        ("['ravioli, positive', 'service-negative']", [None]),
        ("[[('ravioli', 'positive')], [('service', 'negative')]]", [("service", "negative")]),  # last inner list
        ("[('pasta', 'positive')]", [None]),  # not in the sentence: False, still counted
        ("[(' ravioli ', 'positive ')]", [("ravioli", "positive")]),  # validated items are stripped
        (
            "[(' ravioli ', 'positive '), ('a', 'b', 'c')]",
            [(" ravioli ", "positive "), ("a", "b", "c")],
        ),  # raw, unstripped
        ("[('ravioli', 'positive'), ('ravioli', 'positive')]", [("ravioli", "positive")] * 2),  # duplicates count
        ("Label: [('ravioli', 'positive')]", [("ravioli", "positive")]),  # ATSA/ACSA drop "Label:"
        ("[]", []),
    ],
)
def test_atsa_items(answer, items):
    assert list(O.parse_atsa(answer, ATSA_SENTENCE).items) == items


def test_atsa_predictions_that_are_not_iterable_crash_the_authors_scorer():
    res = O.parse("atsa", "[[('ravioli', 'positive')], 5]", ATSA_SENTENCE)  # the last inner "list" is 5
    assert res.status is ParseStatus.SCORER_CRASH and res.items == ()


# ------------------------------------------------------------------------------- ACSA
ACSA_GOLD = [("food quality", "positive"), ("service general", "negative")]


def test_acsa_f1_by_hand():
    outputs = [
        ' [("food quality", "positive"), ("service general", "negative")]',  # 2 of 2
        " [('food quality', 'positive'), ('service general', 'neg",  # cut at the last ')': 1 of 1
        # cut off after four tuples: the repair keeps three (first three here), 2 of them gold
        " [('food quality', 'positive'), ('service general', 'negative'), ('ambience general', 'positive'),"
        " ('food prices', 'negative'), ('drinks",
        " [('food quality', None)]",  # None.strip() raises: the raw item counts, never matches
        " ```python\n[('food quality', 'positive')]\n```",  # the fence line: 0
        " Pairs: [('food quality', 'positive')]",  # prose before: not a literal, even cut: 0
        " [('food quality', 'positive')] That is all.",  # prose after: the cut at the last ')' recovers it, 1 of 1
        " [('food quality', 'positive', 'extra')]",  # wrong arity raises: the raw 3-tuple counts, never matches
    ]
    parsed = [O.parse_acsa(line(o)) for o in outputs]
    assert [len(p.items) for p in parsed] == [2, 1, 3, 1, 0, 0, 1, 1]
    assert [parsed[i].status for i in (1, 2, 6)] == [ParseStatus.REPAIRED] * 3
    prf = O.micro_f1([ACSA_GOLD] * len(outputs), [p.items for p in parsed])
    # predictions 9, of which 2+1+2+1 = 6 are gold; gold 8 x 2 = 16, of which 6 are predicted
    p, r = Fraction(6, 9), Fraction(6, 16)
    assert prf.f1 == approx(2 * p * r / (p + r))  # 12/25


def test_acsa_repair_keeps_the_first_three_tuples_whatever_the_hash_seed():
    answer = "[('d', 'positive'), ('c', 'positive'), ('b', 'negative'), ('a', 'neutral'), ('e"
    code = (
        "import json, sys; from sentidistill.sentibench.official import parse_acsa; "
        f"print(json.dumps(parse_acsa({answer!r}).items))"
    )
    seen = set()
    for seed in ("0", "1", "12345"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
        seen.add(out.stdout.strip())
    assert len(seen) == 1
    assert json.loads(seen.pop()) == [["d", "positive"], ["c", "positive"], ["b", "negative"]]


def test_acsa_has_no_occurrence_check_and_no_conflict_polarity():
    assert O.parse_acsa("[('food quality', 'conflict')]").items == (None,)
    assert O.parse_acsa("[('not a category', 'positive')]").items == (("not a category", "positive"),)


# ------------------------------------------------------------------------------- ASQP
ASQP_GOLD = [("food quality", "ravioli", "great", "positive"), ("service general", "service", "slow", "negative")]


def test_asqp_f1_by_hand():
    outputs = [
        " [('food quality', 'ravioli', 'great', 'positive'), ('service general', 'service', 'slow', 'negative')]",
        " [('food quality', 'ravioli', 'great'), ('service general', 'service', 'slow', 'negative')]",  # 3-tuple dropped
        " [('food quality', None, 'great', 'positive')]",  # the authors' scorer crashes: unparseable, counted
        " [('food quality', 'ravioli', 'great', 'positive'), ('service general', 'serv",  # repaired: 1 of 1
        " Here is the list: [('food quality', 'ravioli', 'great', 'positive')]",  # prose before: no literal, 0
        " [('food quality', 'ravioli', 'great', 'positive')] Done.",  # prose after: recovered by the cut, 1 of 1
        " ```python\n[('food quality', 'ravioli', 'great', 'positive')]\n```",  # the fence line: 0
    ]
    parsed = [O.parse_asqp(line(o)) for o in outputs]
    assert [len(p.items) for p in parsed] == [2, 1, 0, 1, 0, 1, 0]
    assert [p.status for p in parsed] == [
        ParseStatus.OK,
        ParseStatus.PARTIAL,
        ParseStatus.SCORER_CRASH,
        ParseStatus.REPAIRED,
        ParseStatus.UNPARSEABLE,
        ParseStatus.REPAIRED,
        ParseStatus.UNPARSEABLE,
    ]
    prf = O.micro_f1([ASQP_GOLD] * len(outputs), [p.items for p in parsed])
    # predictions 5, all gold; gold 7 x 2 = 14, of which 5 are predicted
    p, r = Fraction(5, 5), Fraction(5, 14)
    assert prf.precision == approx(p) and prf.f1 == approx(2 * p * r / (p + r))  # 10/19


def test_asqp_distinct_items_then_stripped_duplicates_count_twice():
    res = O.parse_asqp("[('a ', 'b', 'c', 'd'), ('a', 'b', 'c', 'd'), ('a', 'b', 'c', 'd')]")
    assert res.items == (("a", "b", "c", "d"), ("a", "b", "c", "d"))


def test_asqp_a_list_of_lists_is_unhashable_and_unparseable():
    assert O.parse_asqp("[['a', 'b', 'c', 'd']]").status is ParseStatus.UNPARSEABLE


# -------------------------------------------------------------------------------- SSA
SSA_SENTENCE = "The hotel was nice but the staff were rude ."
# tokens split on spaces: The0 hotel1 was2 nice3 but4 the5 staff6 were7 rude8 .9
SSA_OPINIONS = [
    {"holder_spans": [], "target_spans": ["4:9"], "expression_spans": ["14:18"], "polarity": "positive"},
    {"holder_spans": [], "target_spans": ["27:32"], "expression_spans": ["38:42"], "polarity": "negative"},
]


def test_ssa_f1_by_hand():
    outputs = [
        " [('NULL', 'hotel', 'nice', 'positive'), ('NULL', 'staff', 'rude', 'negative')]",  # 2 exact
        # 'AND' splits the target: {hotel, staff}; precision weight (1 + 1/2 + 1)/3 = 5/6 against
        # opinion 1; recall: opinion 1 fully covered (1), opinion 2's expression not (unmatched)
        " [('NULL', 'hotel AND staff', 'nice', 'positive')]",
        " [('NULL', 'hotel', 'nice', 'positive'), ('staff', 'rude')]",  # a 2-tuple drops the sentence
        " [('NULL', None, 'nice', 'positive')]",  # the authors' scorer crashes on None.strip()
        " [('NULL', 'hotel', 'nice', ' positive')]",  # ' positive'.capitalize() != 'Positive': unmatched
        " ```python\n[('NULL', 'hotel', 'nice', 'positive')]\n```",  # the fence line: 0
        " [('NULL', 'hotel', 'nice', 'positive')] Done.",  # prose after: recovered by the cut, 1 exact
        " Tuples: [('NULL', 'hotel', 'nice', 'positive')]",  # prose before: no literal: 0
        " [('NULL', 'hotel', 'nice', 'positive'), ('NULL', 'sta",  # cut off mid-tuple: the first, exact
    ]
    parsed = [O.parse_ssa(line(o)) for o in outputs]
    assert [len(p.items) for p in parsed] == [2, 1, 0, 0, 1, 0, 1, 0, 1]
    assert parsed[3].status is ParseStatus.SCORER_CRASH
    assert parsed[6].status is ParseStatus.REPAIRED and parsed[8].status is ParseStatus.REPAIRED
    ids = [f"s{i}" for i in range(len(outputs))]
    prf = O.ssa_f1(ids, [SSA_SENTENCE] * len(outputs), [SSA_OPINIONS] * len(outputs), [p.items for p in parsed])
    p = (2 + Fraction(5, 6) + 1 + 1) / 6  # 6 predictions
    r = Fraction(2 + 1 + 1 + 1, 18)  # 9 sentences x 2 gold opinions
    assert prf.precision == approx(p) and prf.recall == approx(r)
    assert prf.f1 == approx(2 * p * r / (p + r))


def test_ssa_holder_is_searched_as_written_not_split_at_and():
    sentence = "I and we liked it ."  # tokens: I0 and1 we2 liked3 it4 .5
    ops = [{"holder_spans": ["0:1"], "target_spans": ["15:17"], "expression_spans": ["9:14"], "polarity": "positive"}]
    # 'I AND we' does not occur: no holder span, i.e. the empty-holder sentinel, which does not
    # overlap gold's holder {0}: unmatched (the lenient scorer splits it and finds 'I')
    unsplit = O.parse_ssa("[('I AND we', 'it', 'liked', 'positive')]")
    assert O.ssa_f1(["a"], [sentence], [ops], [unsplit.items]).f1 == 0.0
    found = O.parse_ssa("[('I', 'it', 'liked', 'positive')]")
    assert O.ssa_f1(["a"], [sentence], [ops], [found.items]).f1 == approx(Fraction(1))


def test_ssa_repeated_sent_id_keeps_the_last_sentence():
    exact = O.parse_ssa("[('NULL', 'hotel', 'nice', 'positive'), ('NULL', 'staff', 'rude', 'negative')]").items
    prf = O.ssa_f1(["x", "x"], [SSA_SENTENCE] * 2, [SSA_OPINIONS] * 2, [(), exact])
    assert prf.f1 == approx(Fraction(1))  # the first "x" is overwritten, as in the authors' dict


def test_dispatch_rejects_classification():
    with pytest.raises(ValueError, match="kind"):
        O.parse("classification", "x", "y")
