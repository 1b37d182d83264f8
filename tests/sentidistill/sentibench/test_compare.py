import polars as pl
import pytest

from sentidistill.sentibench.compare import compare, markdown, paired_dataset


def _preds(model, dataset, rows):
    """rows: (example_id, seed, gold, prediction)"""
    return pl.DataFrame(
        {
            "model": [model] * len(rows),
            "dataset": [dataset] * len(rows),
            "example_id": [r[0] for r in rows],
            "seed": [r[1] for r in rows],
            "gold": [r[2] for r in rows],
            "prediction": [r[3] for r in rows],
        }
    )


GOLD = ["positive", "negative"] * 20


def test_always_positive_vs_perfect_is_a_significant_gain():
    a = _preds("base", "sst2", [(f"e{i}", s, g, "positive") for i, g in enumerate(GOLD) for s in (0, 1)])
    b = _preds("distilled", "sst2", [(f"e{i}", s, g, g) for i, g in enumerate(GOLD) for s in (0, 1)])
    r = paired_dataset(a, b, "sst2", resamples=200, seed=0)
    assert r.n_examples == 40 and r.n_seeds == 2
    # always "positive": F1(pos) = 2*20/(40+20) = 2/3, F1(neg) = 0 -> macro 1/3
    assert r.f1_a == pytest.approx(1 / 3) and r.f1_b == pytest.approx(1.0)
    assert r.diff == pytest.approx(2 / 3) and r.significant and r.ci_low > 0.4
    assert r.majority_a == ("positive", 1.0) and r.disagreement == pytest.approx(0.5)


def test_identical_predictions_give_a_zero_interval_and_only_shared_pairs_count():
    rows = [(f"e{i}", 0, g, "positive" if i % 3 else g) for i, g in enumerate(GOLD)]
    a = _preds("base", "sst2", rows)
    b = _preds("other", "sst2", rows[:30] + [("extra", 0, "positive", "negative")])  # 10 missing, 1 extra
    r = paired_dataset(a, b, "sst2", resamples=100, seed=0)
    assert r.n_examples == 30 and r.diff == 0 and (r.ci_low, r.ci_high) == (0.0, 0.0) and not r.significant


def test_example_missing_a_seed_is_left_out_and_generation_datasets_are_skipped():
    a = _preds("a", "twitter", [("x", 0, "neutral", "neutral"), ("x", 1, "neutral", "neutral"), ("y", 0, "positive", "positive")])
    b = _preds("b", "twitter", [("x", 0, "neutral", "negative"), ("x", 1, "neutral", "neutral"), ("y", 0, "positive", "positive"),
                                ("y", 1, "positive", "positive")])  # fmt: skip
    r = paired_dataset(a, b, "twitter", resamples=50, seed=0)
    assert r.n_examples == 1 and r.n_seeds == 2  # y lacks seed 1 in a
    fsa = pl.concat([_preds("a", "atsa", [("z", 0, "[]", "[]")]), a])
    assert [x.dataset for x in compare(fsa, pl.concat([_preds("b", "atsa", [("z", 0, "[]", "[]")]), b]), resamples=10)] == ["twitter"]
    assert "| twitter | 1 × 2 |" in markdown([r], "a", "b")


def test_no_shared_examples_is_a_clear_error():
    a = _preds("a", "sst2", [("x", 0, "positive", "positive")])
    b = _preds("b", "sst2", [("y", 0, "positive", "positive")])
    with pytest.raises(ValueError, match="share no"):
        paired_dataset(a, b, "sst2", resamples=10, seed=0)
