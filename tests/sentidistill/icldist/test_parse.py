import pytest

from sentidistill.icldist.parse import parse_multi, parse_single, render_multi

SENT = ["positive", "negative", "neutral"]
SIGNED = ["+1", "-1", "0"]
EKMAN = ["happiness", "sad", "fear", "anger", "surprise", "disgust", "neutral"]


@pytest.mark.parametrize(
    "text,labels,expected",
    [
        ("positive", SENT, "positive"),
        (" Negative.\n", SENT, "negative"),
        ("Output: 'neutral'", SENT, "neutral"),
        ("The sentiment of this review is positive.", SENT, "positive"),
        ("+1", SIGNED, "+1"),
        ("-1", SIGNED, "-1"),
        ("0", SIGNED, "0"),
        ("POS", ["POS", "NEG", "NEU"], "POS"),
        ("ok", ["good", "bad", "ok"], "ok"),
        ("\n\npositive\nbecause ...", SENT, "positive"),
    ],
)
def test_single_ok(text, labels, expected):
    p = parse_single(text, labels)
    assert p.ok and p.labels == (expected,)


@pytest.mark.parametrize(
    "text,labels,error",
    [
        ("", SENT, "empty"),
        ("   \n ", SENT, "empty"),
        ("mixed feelings", SENT, "unknown_label"),
        ("1", SIGNED, "unknown_label"),
        ("positive or negative", SENT, "multiple_labels"),
    ],
)
def test_single_errors(text, labels, error):
    p = parse_single(text, labels)
    assert not p.ok and p.error == error


def test_multi():
    aliases = {"sadness": "sad"}
    assert parse_multi("['disgust', 'neutral', 'sadness']", EKMAN, aliases).labels == ("disgust", "neutral", "sad")
    assert parse_multi("fear, anger, fear", EKMAN).labels == ("fear", "anger")
    assert parse_multi('["Fear"]', EKMAN).labels == ("fear",)
    assert parse_multi("The emotion expressed is 'anger'.", EKMAN).labels == ("anger",)
    assert parse_multi("['joy']", EKMAN).error == "unknown_label"  # a list with a label outside the taxonomy
    assert parse_multi("['fear'", EKMAN).error == "not_a_list"
    assert parse_multi("[]", EKMAN).error == "no_label"
    assert parse_multi("", EKMAN).error == "empty"
    assert parse_multi("nothing to see", EKMAN).error == "unknown_label"


def test_render_multi_matches_table12():
    assert render_multi(["disgust", "neutral", "sadness"]) == "['disgust', 'neutral', 'sadness']"
