"""Structured-answer parsing: valid JSON, JSON inside prose / fences, lenient syntax,
missing fields, labels outside the set (case, aliases), and where the label value starts."""

from __future__ import annotations

import pytest

from sentidistill.classifier.parse import PARSE_ERRORS, LabelMatcher, parse_answer

LABELS = ["negative", "neutral", "positive"]
MATCHER = LabelMatcher(LABELS, {"pos": "positive", "neg": "negative", "mixed": "neutral"})


def parse(text):
    return parse_answer(text, MATCHER)


def test_valid_json_both_key_orders():
    a = parse('{"reason": "The writer loves it.", "label": "positive"}')
    assert (a.label, a.reason, a.error, a.method) == ("positive", "The writer loves it.", None, "json")
    b = parse('{"label": "negative", "reason": "Complains about the wait."}')
    assert (b.label, b.reason, b.method) == ("negative", "Complains about the wait.", "json")


def test_json_inside_prose_and_code_fence():
    a = parse('Sure! Here\'s my analysis:\n{"reason": "Mixed feelings.", "label": "neutral"}\nHope it helps.')
    assert a.label == "neutral" and a.method == "json"
    b = parse('```json\n{\n  "reason": "Angry tone.",\n  "label": "negative"\n}\n```')
    assert b.label == "negative" and b.reason == "Angry tone."


def test_lenient_syntax():
    assert parse("{'reason': 'Happy customer', 'label': 'positive'}").method == "lenient"
    a = parse('{reason: "ok", label: "neutral",}')
    assert (a.label, a.method) == ("neutral", "lenient")
    a = parse("{\u201creason\u201d: \u201cgreat\u201d, \u201clabel\u201d: \u201cpositive\u201d}")
    assert a.label == "positive"


def test_case_and_aliases_and_key_case():
    assert parse('{"Reason": "x", "LABEL": "Positive."}').label == "positive"
    assert parse('{"reason": "x", "label": "NEG"}').label == "negative"
    assert parse('{"reason": "x", "label": ["mixed"]}').label == "neutral"


def test_wrong_label_is_kept_as_an_error_with_the_raw_value():
    a = parse('{"reason": "It is sarcastic.", "label": "sarcastic"}')
    assert (a.label, a.error, a.raw_label, a.reason) == (None, "unknown_label", "sarcastic", "It is sarcastic.")
    # no guessing from a phrase that contains a label word
    assert parse('{"reason": "x", "label": "not positive"}').error == "unknown_label"


def test_missing_fields():
    a = parse('{"reason": "No idea what to say."}')
    assert (a.label, a.error) == (None, "missing_label")
    b = parse('{"label": "positive"}')  # a missing rationale is not an error
    assert (b.label, b.reason, b.error) == ("positive", None, None)
    c = parse('{"reason": "x", "label": null}')
    assert c.error == "missing_label"


def test_no_json_bad_json_empty():
    assert parse("").error == "empty" and parse("   \n").error == "empty" and parse(None).error == "empty"
    assert parse("The sentiment is clearly upbeat.").error == "no_json"
    assert parse("{this is not json at all}").error == "bad_json"
    assert {parse(t).error for t in ["", "prose", "{bad}"]} <= set(PARSE_ERRORS)


def test_regex_fallback_markdown_and_broken_json():
    a = parse("**Reason:** The food was cold\n**Label:** negative")
    assert (a.label, a.method) == ("negative", "regex")
    b = parse('{"reason": "He says "wow" twice", "label": "positive"}')  # unescaped quotes
    assert b.label == "positive"


def test_truncated_answer_is_closed():
    a = parse('{"label": "positive", "reason": "The reviewer praises the acting and')
    assert (a.label, a.error) == ("positive", None)
    b = parse('{"reason": "The reviewer praises the acting and')
    assert b.error == "missing_label"


def test_label_offset_points_at_the_value():
    text = 'Answer: {"reason": "Loves it.", "label": "Positive"}'
    a = parse(text)
    assert a.label_offset is not None and text[a.label_offset :].startswith("Positive")
    assert text[: a.label_offset].endswith('"label": "')
    assert parse("**Label:** negative").label_offset is None  # no quoted value: no soft label


@pytest.mark.parametrize("bad", [{"good": "nope"}])
def test_aliases_must_target_the_label_set(bad):
    with pytest.raises(ValueError, match="not in"):
        LabelMatcher(LABELS, bad)
