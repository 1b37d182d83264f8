"""Parsers of model outputs: tuple lists (FSA) and labels (classification, generate mode)."""

from __future__ import annotations

from collections import Counter

import pytest

from sentidistill.schemas.sentibench_datasets import DATASETS
from sentidistill.sentibench.parsing import ParseStatus, parse_fsa_output, parse_label, parse_tuple_list

OK, REPAIRED, PARTIAL, EMPTY, BAD = (
    ParseStatus.OK,
    ParseStatus.REPAIRED,
    ParseStatus.PARTIAL,
    ParseStatus.EMPTY_LIST,
    ParseStatus.UNPARSEABLE,
)
RAV = ("ravioli", "positive")
SRV = ("service", "negative")


@pytest.mark.parametrize(
    ("text", "tuples", "status"),
    [
        ("[('ravioli', 'positive')]", [RAV], OK),
        (" [('ravioli', 'positive'), ('service', 'negative')] \n", [RAV, SRV], OK),
        ('[("ravioli", "positive")]', [RAV], OK),  # ACSA asks for double quotes
        ("[['ravioli', 'positive']]", [RAV], OK),  # lists as tuples
        ("[(' ravioli ', 'positive ')]", [RAV], OK),  # fields are stripped
        # code fences
        ("```python\n[('ravioli', 'positive')]\n```", [RAV], OK),
        ("```\n[('ravioli', 'positive'),\n ('service', 'negative')\n]\n```", [RAV, SRV], OK),
        # trailing prose / a leading "Label:" / the model continuing the few-shot pattern
        ("[('ravioli', 'positive')] These are all the pairs in the sentence.", [RAV], OK),
        ("Label: [('ravioli', 'positive')]", [RAV], OK),
        ("Here is the list:\n[('ravioli', 'positive')]\n\nSentence: Next one\nLabel: [('x', 'negative')]", [RAV], OK),
        ("Note [1]: [('ravioli', 'positive')]", [RAV], OK),  # "[1]" is not an answer
        # cut off mid-tuple (max_new_tokens): keep the complete tuples, close the list
        ("[('ravioli', 'positive'), ('serv", [RAV], REPAIRED),
        ("[('ravioli', 'positive'), ('service', 'negative'),", [RAV, SRV], REPAIRED),
        ("[('ceviche mix (special)', 'positive'), ('sake', 'pos", [("ceviche mix (special)", "positive")], REPAIRED),
        ("[['ravioli', 'positive'], ['serv", [RAV], REPAIRED),
        # a single tuple without a list, bare tuples, a flat pair
        ("('ravioli', 'positive')", [RAV], REPAIRED),
        ("('ravioli', 'positive'), ('service', 'negative')", [RAV, SRV], REPAIRED),
        ("['ravioli', 'positive']", [RAV], REPAIRED),
        # a tuple closed by ']' (the typo in the paper's Table 15 SSA demo)
        ("[('ravioli', 'positive']", [RAV], REPAIRED),
        # wrong arity / non-tuple items / non-string fields are dropped
        ("[('ravioli', 'positive', 'extra'), ('service', 'negative')]", [SRV], PARTIAL),
        ("[('ravioli', 'positive'), 'junk', ('a', 5), ('b',)]", [RAV], PARTIAL),
        ("[('ravioli', 'positive'), ('c' 'd')]", [RAV], PARTIAL),  # 'c' 'd' is the string 'cd'
        ("['positive']", [], PARTIAL),  # every item dropped
        # duplicates collapse
        ("[('ravioli', 'positive'), ('ravioli', 'positive')]", [RAV], OK),
        # empty answers
        ("[]", [], EMPTY),
        ("```python\n[]\n```", [], EMPTY),
        # garbage
        ("", [], BAD),
        ("   ", [], BAD),
        ("I cannot find any aspect terms.", [], BAD),
        ("positive", [], BAD),
        ("[1, 2]", [], BAD),
        ("{'ravioli': 'positive'}", [], BAD),
    ],
)
def test_parse_tuple_list(text, tuples, status):
    res = parse_tuple_list(text, 2)
    assert (list(res.tuples), res.status) == (tuples, status), res.notes


def test_dropped_items_are_counted_and_explained():
    res = parse_tuple_list("[('a', 'b', 'c'), 'x', ('ok', 'positive')]", 2)
    assert res.n_dropped == 2
    assert res.tuples == (("ok", "positive"),)
    assert any("arity 3" in n for n in res.notes)


def test_none_field_reads_as_null_for_quads():
    res = parse_fsa_output("[(None, 'hotel', 'nice', 'positive')]", DATASETS["ssa"])
    assert res.tuples == (("NULL", "hotel", "nice", "positive"),) and res.status is OK


def test_arity_comes_from_the_dataset():
    quad = "[('food quality', 'pizza', 'great', 'positive')]"
    assert parse_fsa_output(quad, DATASETS["asqp"]).status is OK
    assert parse_fsa_output(quad, DATASETS["atsa"]).status is PARTIAL
    with pytest.raises(ValueError, match="classification"):
        parse_fsa_output(quad, DATASETS["imdb"])


def test_statuses_are_countable():
    outputs = ["[('a', 'positive')]", "[]", "oops", "[('a', 'positive'), ('b", "[('a',)]", None]
    counts = Counter(parse_tuple_list(o, 2).status.value for o in outputs)
    assert counts == {"ok": 1, "empty_list": 1, "unparseable": 2, "repaired": 1, "partial": 1}


LABELS = ["not intimate", "moderately intimate", "highly intimate"]


@pytest.mark.parametrize(
    ("text", "labels", "expected"),
    [
        ("positive", ["negative", "positive"], "positive"),
        (" Positive.\nBecause the review is glowing.", ["negative", "positive"], "positive"),
        ("'negative'", ["negative", "positive"], "negative"),
        ("Label: neutral", ["negative", "positive", "neutral"], "neutral"),
        ("\n\nnon-irony", ["non-irony", "irony"], "non-irony"),
        ("irony", ["non-irony", "irony"], "irony"),
        ("Moderately Intimate", LABELS, "moderately intimate"),
        ("not intimate at all", LABELS, "not intimate"),
        ("favor (opinion towards 'Joe Biden')", ["against", "favor"], "favor"),
        ("positively", ["negative", "positive"], None),  # not a whole word
        ("I think it is positive", ["negative", "positive"], None),  # first line must start with it
        ("", ["negative", "positive"], None),
        (None, ["negative", "positive"], None),
    ],
)
def test_parse_label(text, labels, expected):
    assert parse_label(text, labels) == expected


def test_answer_end_is_the_first_line_after_the_label():
    from sentidistill.sentibench.parsing import answer_end

    assert answer_end("") is None
    assert answer_end("   \n\n") is None  # leading blank lines are skipped, as the authors' regex does
    assert answer_end(" positive") is None
    assert answer_end(" positive\n") == len(" positive\n")
    text = "\n [('food', 'positive')]\nSentence:"
    assert text[: answer_end(text)] == "\n [('food', 'positive')]\n"


def test_answer_end_waits_for_the_closing_code_fence():
    from sentidistill.sentibench.parsing import answer_end

    assert answer_end("```python\n[('food', 'positive')]\n") is None
    assert answer_end("```python\n[('food', 'positive')]\n``` tail") == len("```python\n[('food', 'positive')]\n```")
