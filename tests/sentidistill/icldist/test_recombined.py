"""Recombined ICLDist prompts (icldist.prompts.answer_source: demo_labels) and scored demo labels."""

import polars as pl
import pytest

from sentidistill.icldist.build import build_icl_prompts, recombined_prompts, scored_demo_labels
from sentidistill.icldist.natinst import NatInstParams
from sentidistill.icldist.prompts import ICLPromptParams, demo_label_requests
from tests.sentidistill.icldist.test_prompts import EKMAN, formats

TEXTS = [f"text number {i} about the food" for i in range(12)]


def _pool():
    return pl.DataFrame(
        {
            "id": [f"t{i:02d}" for i in range(12)],
            "domain": ["yelp"] * 12,
            "normalized": TEXTS,
            "pool_rank": list(range(12)),
        }
    )


def _scored(fmt):
    req = demo_label_requests(_pool(), fmt, ["ekman7"])
    # a deterministic "teacher": sentiment by text number parity, emotion anger/happiness
    scores = []
    for t, cands in zip(req["text"], req["candidates"]):
        i = int(t.split()[2])
        best = (i % 2) if len(cands) == 3 else (3 if i % 2 else 0)
        scores.append([0.0 if j == best else -5.0 for j in range(len(cands))])
    return req.with_columns(pl.Series("scores", scores, dtype=pl.List(pl.Float64)))


def test_requests_list_the_label_set_and_come_job_by_job():
    fmt = formats()
    req = demo_label_requests(_pool(), fmt, ["ekman7"])
    assert req.height == 24 and req["task"].to_list() == ["sentiment"] * 12 + ["emotion"] * 12
    assert req["candidates"][0].to_list() == ["positive", "negative", "neutral"]
    assert req["candidates"][12].to_list() == EKMAN
    with pytest.raises(ValueError, match="not in icldist.formats.taxonomies"):
        demo_label_requests(_pool(), fmt, ["plutchik8"])


def test_scored_labels_take_the_argmax_and_keep_the_distribution():
    fmt = formats()
    labels = scored_demo_labels(_scored(fmt), fmt)
    sent = labels.filter(pl.col("task") == "sentiment").sort("text_id")
    assert sent["labels"].to_list()[:2] == [["positive"], ["negative"]]
    emo = labels.filter(pl.col("task") == "emotion").sort("text_id")
    assert emo["labels"].to_list()[:2] == [["happiness"], ["anger"]]
    assert labels["finish_reason"].unique().to_list() == ["label_scores"]
    assert labels["label_logprobs"][0].to_list() == [0.0, -5.0, -5.0]


def _params(**kw):
    base = dict(
        seed=1,
        n_prompts=20,
        mixture={"sentiment": 0.5, "emotion": 0.5, "natinst": 0.0},
        min_demos=1,
        max_demos=4,
        answer_source="demo_labels",
    )
    return ICLPromptParams(**{**base, **kw})


def test_recombined_prompts_answer_with_the_query_texts_own_label():
    fmt = formats()
    labels = scored_demo_labels(_scored(fmt), fmt)
    df = recombined_prompts(labels, fmt, _params(), 20)
    assert df.height == 20 and df["prompt_id"].n_unique() == 20
    assert set(df["answer_source"]) == {"demo_labels"} and set(df["task"]) == {"sentiment", "emotion"}
    assert set(df.filter(pl.col("task") == "emotion")["label_set"]) == {"ekman7"}  # only the labeled taxonomy
    truth = {t: int(t.split()[2]) % 2 for t in TEXTS}
    for r in df.iter_rows(named=True):
        query = r["user_message"].rsplit("Sentence: ", 1)[1].removesuffix("\nOutput:")
        assert query in truth and r["user_message"].count(query) == 1  # never its own demonstration
        if r["task"] == "sentiment":
            words = fmt.label_words[r["label_set"]]
            assert r["gold"] == words[truth[query]]
        else:
            assert r["gold"] == str(["anger" if truth[query] else "happiness"])
    again = recombined_prompts(labels, fmt, _params(), 20)
    assert again.equals(df)


def test_build_icl_prompts_with_demo_labels_needs_no_pool_targets(tmp_path):
    fmt = formats()
    labels = scored_demo_labels(_scored(fmt), fmt)
    df, stats = build_icl_prompts(
        _pool().head(0),
        labels,
        tmp_path,
        fmt,
        _params(),
        NatInstParams(seed=0, answer_source="gold", n_examples=1, max_prompt_chars=2000, tasks=None),
    )
    assert df.height == 20 and stats["by_answer_source"] == {"demo_labels": 20}


def test_teacher_answer_share_sends_a_seeded_subset_to_the_teacher_and_keeps_the_zero_shot_label():
    fmt = formats()
    labels = scored_demo_labels(_scored(fmt), fmt)
    plain = recombined_prompts(labels, fmt, _params(), 20)
    half = recombined_prompts(labels, fmt, _params(teacher_answer_share=0.5), 20)
    more = recombined_prompts(labels, fmt, _params(teacher_answer_share=0.8), 20)
    teacher = half["answer_source"] == "teacher"
    assert 0 < int(teacher.sum()) < 20 and set(half["answer_source"]) == {"teacher", "demo_labels"}
    # the same prompts and zero-shot labels; only who answers changes
    assert half.drop("answer_source").equals(plain.drop("answer_source"))
    # a larger share only adds prompts to the teacher's set
    assert set(half.filter(teacher)["prompt_id"]) <= set(more.filter(pl.col("answer_source") == "teacher")["prompt_id"])
    assert recombined_prompts(labels, fmt, _params(teacher_answer_share=1.0), 20)[
        "answer_source"
    ].unique().to_list() == ["teacher"]
