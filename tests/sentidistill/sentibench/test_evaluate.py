"""Evaluation logic: subsampling, scoring-mode choice, accounting and the metrics summary."""

import json

import polars as pl
import pytest

from sentidistill.params import ParamsError, parse_section
from sentidistill.sentibench.evaluate import (
    PREDICTION_COLUMNS,
    EvalParams,
    choose_scoring,
    stratified_subsample,
    summarize,
)


def _test_frame(n_pos: int, n_neg: int) -> pl.DataFrame:
    labels = ["positive"] * n_pos + ["negative"] * n_neg
    return pl.DataFrame({"example_id": [f"test-{i:05d}" for i in range(len(labels))], "label": labels})


def test_stratified_subsample_keeps_label_proportions_and_is_seeded():
    df = _test_frame(75, 25)
    a = stratified_subsample(df, 20, seed=0, stratify="label")
    assert a.height == 20
    assert a["label"].value_counts().sort("label").rows() == [("negative", 5), ("positive", 15)]
    assert a.equals(stratified_subsample(df, 20, seed=0, stratify="label"))
    assert not a.equals(stratified_subsample(df, 20, seed=1, stratify="label"))


def test_stratified_subsample_largest_remainder_and_full_split():
    df = _test_frame(2, 1)
    assert stratified_subsample(df, 2, seed=0, stratify="label")["label"].sort().to_list() == ["negative", "positive"]
    assert stratified_subsample(df, None, seed=0, stratify="label").height == 3
    assert stratified_subsample(df, 10, seed=0, stratify=None).height == 3


def test_eval_params_reject_unknown_dataset_and_key():
    with pytest.raises(ParamsError, match="unknown datasets"):
        parse_section("sentibench.eval", {"datasets": ["imdb", "nope"]}, EvalParams)
    with pytest.raises(ParamsError, match="sentibench.eval.shot: unknown key"):
        parse_section("sentibench.eval", {"shot": 4}, EvalParams)


def _preds(rows):
    return pl.DataFrame(rows, schema=PREDICTION_COLUMNS, orient="row")


def test_summarize_means_std_and_categories():
    # imdb: seed 0 all right (F1 100), seed 1 all "positive" on 1 pos + 1 neg (macro-F1 over the
    # labels present = (2/3 + 0)/2 = 33.33); atsa: 1 of 2 gold tuples found, 1 wrong prediction
    rows = []
    for seed, preds in [(0, ["positive", "negative"]), (1, ["positive", "positive"])]:
        for i, (gold, pred) in enumerate(zip(["positive", "negative"], preds)):
            rows.append(["imdb", seed, f"test-{i}", "0" * 16, 10, "first_token", pred, [0.0, 1.0], pred, gold, "ok"])
    gold = json.dumps([["food", "positive"], ["service", "negative"]])
    pred = json.dumps([["food", "positive"], ["wine", "positive"]])
    rows.append(["atsa", 0, "test-0", "1" * 16, 10, "generate", "raw", None, pred, gold, "ok"])
    rows.append(["atsa", 0, "test-1", "2" * 16, 10, "generate", "garbage", None, "[]", "[]", "unparseable"])
    out = summarize(_preds(rows), data={"imdb": pl.DataFrame(), "atsa": pl.DataFrame()})
    imdb = out["datasets"]["imdb"]
    assert imdb["per_seed"]["0"]["f1"] == 100.0
    assert imdb["per_seed"]["1"]["f1"] == pytest.approx(100 / 3, abs=1e-3)
    assert imdb["f1"] == pytest.approx((100 + 100 / 3) / 2, abs=1e-3)
    assert imdb["f1_std"] > 0 and imdb["n_examples"] == 2 and imdb["n_seeds"] == 2
    atsa = out["datasets"]["atsa"]
    assert atsa["f1"] == pytest.approx(50.0)  # P = 1/2, R = 1/2
    assert atsa["n_unparseable"] == 1 and atsa["parse_status"] == {"ok": 1, "unparseable": 1}
    assert out["categories"] == {"BSA": imdb["f1"], "FSA": atsa["f1"]}
    assert out["avg"] == pytest.approx((imdb["f1"] + atsa["f1"]) / 2, abs=1e-3)


@pytest.mark.slow
def test_choose_scoring_switches_to_full_loglik_when_first_tokens_collide(tiny_hf_engine):
    assert choose_scoring(tiny_hf_engine, ["negative", "positive"], "auto")[0] == "first_token"
    colliding = ["not intimate", "not sure"]
    assert choose_scoring(tiny_hf_engine, colliding, "auto")[0] == "full_loglik"
    with pytest.raises(ValueError, match="share first tokens"):
        choose_scoring(tiny_hf_engine, colliding, "first_token")


def test_screening_and_confirmation_parts_are_disjoint_and_cover_the_test_split():
    from sentidistill.sentibench.evaluate import partition_test

    df = _test_frame(300, 100)
    p = lambda part: EvalParams(test_partition=part, screening_size=120, screening_seed=0)  # noqa: E731
    scr = partition_test(df, p("screening"), "label")
    conf = partition_test(df, p("confirmation"), "label")
    assert scr.height == 120 and conf.height == 280
    assert set(scr["example_id"]).isdisjoint(conf["example_id"])
    assert set(scr["example_id"]) | set(conf["example_id"]) == set(df["example_id"])
    assert scr["label"].value_counts().sort("label").rows() == [("negative", 30), ("positive", 90)]
    assert partition_test(df, p("all"), "label").equals(df)
    # the default subsample of the screening part is the start of the same ranking
    assert set(stratified_subsample(scr, 40, 0, "label")["example_id"]) <= set(scr["example_id"])


def test_an_entry_can_override_the_shared_eval_settings():
    from sentidistill.sentibench.evaluate import EvalModel

    shared = EvalParams(max_test_examples=100, seeds=[0])
    ref = EvalModel(model="teacher", eval={"max_test_examples": 4, "seeds": [0, 1, 2]})
    eff = ref.eval_params(shared)
    assert (eff.max_test_examples, eff.seeds, eff.shots) == (4, [0, 1, 2], 4)
    assert EvalModel(model="x").eval_params(shared) is shared
    with pytest.raises(ValueError):
        EvalModel(model="x", eval={"max_examples": 4}).eval_params(shared)
