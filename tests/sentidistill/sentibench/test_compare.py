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
    a = _preds(
        "a",
        "twitter",
        [("x", 0, "neutral", "neutral"), ("x", 1, "neutral", "neutral"), ("y", 0, "positive", "positive")],
    )
    b = _preds(
        "b",
        "twitter",
        [
            ("x", 0, "neutral", "negative"),
            ("x", 1, "neutral", "neutral"),
            ("y", 0, "positive", "positive"),
            ("y", 1, "positive", "positive"),
        ],
    )
    r = paired_dataset(a, b, "twitter", resamples=50, seed=0)
    assert r.n_examples == 1 and r.n_seeds == 2  # y lacks seed 1 in a
    fsa = pl.concat([_preds("a", "atsa", [("z", 0, "[]", "[]")]), a])
    assert [
        x.dataset for x in compare(fsa, pl.concat([_preds("b", "atsa", [("z", 0, "[]", "[]")]), b]), resamples=10)
    ] == ["twitter"]
    assert "| twitter | 1 × 2 |" in markdown([r], "a", "b")


def test_no_shared_examples_is_a_clear_error():
    a = _preds("a", "sst2", [("x", 0, "positive", "positive")])
    b = _preds("b", "sst2", [("y", 0, "positive", "positive")])
    with pytest.raises(ValueError, match="share no"):
        paired_dataset(a, b, "sst2", resamples=10, seed=0)


def _many(model, dataset, n, wrong_every):
    labels = ["positive", "negative"]
    return _preds(
        model, dataset, [(f"e{i}", 0, labels[i % 2], labels[(i + (i % wrong_every == 0)) % 2]) for i in range(n)]
    )


def test_too_few_examples_give_no_interval_and_no_significance():
    from sentidistill.sentibench.compare import comparison_json, comparison_markdown

    a, b = _many("a", "sst2", 10, 2), _many("b", "sst2", 10, 5)
    r = paired_dataset(a, b, "sst2", resamples=200, seed=0, min_examples=30)
    assert r.diff > 0 and (r.ci_low, r.ci_high) == (None, None) and not r.significant
    cmp = comparison_json([r], baseline="a", model="b", shots={"sst2": 4}, resamples=200)
    assert cmp["mean"]["ci_low"] is None and "none (n < 30)" in comparison_markdown(cmp)


def test_mean_interval_resamples_every_dataset_and_brackets_the_mean():
    from sentidistill.sentibench.compare import comparison_json, mean_interval

    res = compare(
        pl.concat([_many("a", "sst2", 80, 2), _many("a", "imdb", 60, 3)]),
        pl.concat([_many("b", "sst2", 80, 7), _many("b", "imdb", 60, 9)]),
        resamples=400,
        datasets=["sst2", "imdb"],
    )
    lo, hi = mean_interval(res)
    mean = sum(r.diff for r in res) / 2
    assert lo < mean < hi and hi - lo < max(r.ci_high - r.ci_low for r in res)  # averaging narrows it
    cmp = comparison_json(res, baseline="a", model="b", shots={"sst2": 4, "imdb": 4}, resamples=400)
    assert set(cmp["datasets"]) == {"sst2", "imdb"} and cmp["datasets"]["sst2"]["n_examples"] == 80
    assert cmp["mean"]["delta"] == round(100 * mean, 2) and cmp["mean"]["ci_low"] == round(100 * lo, 2)
    with pytest.raises(ValueError, match="not evaluated for both"):
        compare(_many("a", "sst2", 40, 2), _many("b", "sst2", 40, 2), datasets=["sst2", "yelp2"])


def _full_preds(model, dataset, rows):
    """Predictions with every column of PredictionsSchema (what sentibench_eval writes)."""
    df = _preds(model, dataset, rows)
    n = df.height
    return df.select(
        "model",
        "dataset",
        "seed",
        "example_id",
        pl.Series("prompt_hash", ["0123456789abcdef"] * n),
        pl.Series("n_prompt_tokens", [10] * n),
        pl.Series("scoring", ["first_token"] * n),
        pl.col("prediction").alias("raw_output"),
        pl.Series("label_scores", [[0.0, 1.0]] * n, dtype=pl.List(pl.Float64)),
        "prediction",
        "gold",
        pl.Series("parse_status", ["ok"] * n),
    )


def test_write_comparison_writes_the_stage_outputs(tmp_path):
    from sentidistill.io import write_parquet
    from sentidistill.schemas.sentibench_predictions import PredictionsSchema
    from sentidistill.sentibench.compare import CompareParams, write_comparison

    rows_a = [(f"e{i}", 0, g, "positive") for i, g in enumerate(GOLD)]
    rows_b = [(f"e{i}", 0, g, g) for i, g in enumerate(GOLD)]
    for name, rows in (("base", rows_a), ("student", rows_b)):
        write_parquet(
            _full_preds(name, "sst2", rows), tmp_path / "eval" / name / "predictions.parquet", PredictionsSchema
        )
    params = CompareParams(baseline="base", model="student", datasets=["sst2"], resamples=200)
    out_json, out_md = tmp_path / "stats" / "sentibench" / "comparison.json", tmp_path / "cmp.md"
    cmp = write_comparison(params, {"sst2": 4}, tmp_path / "eval", out_json, out_md)
    assert cmp["shots"] == {"sst2": 4} and cmp["datasets"]["sst2"]["n_examples"] == 40
    assert cmp["mean"]["ci_low"] > 0
    assert out_json.is_file() and (tmp_path / "metrics" / "sentibench" / "comparison.json").is_file()
    assert "student" in out_md.read_text() and "n" in out_md.read_text()
