from sentidistill.engines.base import GenerationParams, apply_stop_when, truncate_at_stop
from sentidistill.engines.transformers_engine import _common_prefix_len, token_budget_batches


def test_a_caller_stop_criterion_cuts_the_text_where_it_says():
    params = GenerationParams(stop_when=lambda t: t.find("!") + 1 or None)
    assert apply_stop_when("ok! more", params) == ("ok!", True)
    assert apply_stop_when("not yet", params) == ("not yet", False)
    assert apply_stop_when("anything", GenerationParams()) == ("anything", False)


def test_truncate_at_stop_uses_earliest_stop():
    assert truncate_at_stop("abc\nSentence: x", ("Sentence:", "\n")) == ("abc", True)
    assert truncate_at_stop("abc", ("\n",)) == ("abc", False)


def test_token_budget_batches_cover_every_index_once_and_respect_budget():
    lengths = [5, 300, 7, 6, 290, 1000, 8]
    batches = list(token_budget_batches(lengths, max_tokens=600, max_batch=3))
    flat = sorted(i for b in batches for i in b)
    assert flat == list(range(len(lengths)))
    for b in batches:
        assert len(b) <= 3
        assert len(b) == 1 or max(lengths[i] for i in b) * len(b) <= 600
    # an item longer than the budget still gets a batch of its own
    assert [5] in batches


def test_common_prefix_len():
    assert _common_prefix_len([[1, 2, 3], [1, 2, 4], [1, 2]]) == 2
    assert _common_prefix_len([[1], [2]]) == 0
    assert _common_prefix_len([]) == 0
