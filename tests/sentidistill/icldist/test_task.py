"""ICLDist as a teacher task: its own (gold / demo-label) answers skip the teacher, answers
are parsed against their label set, and the policy adds parse_failed and the label balance."""

import polars as pl
import pytest

from sentidistill.icldist.formats import FormatParams
from sentidistill.icldist.task import (
    ICLDistPolicyParams,
    ICLDistTask,
    gold_key,
    icldist_policy,
    label_cap,
    parse_icl_answers,
)
from sentidistill.params import ParamsError, load_section, parse_section
from sentidistill.teacher.cache import TeacherCache
from sentidistill.teacher.generate import generate_table
from sentidistill.teacher.resolve import resolve_teacher
from tests.sentidistill.teacher.conftest import IDENTITY, echo_engine, requests, teacher_params  # noqa: F401

FORMATS = load_section("icldist.formats", FormatParams)


def test_label_cap():
    assert label_cap([7, 2], 0.5) == 2  # 2 + 2 kept, neither above half
    assert label_cap([7, 6, 4], 0.5) == 7  # 7 of 17: already balanced enough
    assert label_cap([9, 3, 2], 0.5) == 5  # 5 of 10
    assert label_cap([5], 0.5) == 0  # one label only: nothing to learn but the prior
    assert label_cap([5], 1.0) == 5 and label_cap([], 0.5) == 0


def test_parse_failed_policy():
    df = pl.DataFrame({"flag": [None, None, "empty"], "parse_error": [None, "unknown_label", "empty"]})
    out, st = icldist_policy(df, ["empty", "truncated", "parse_failed"])
    assert out["exclude_reason"].to_list() == [None, "parse_failed", "empty"]
    assert st == {
        "policy": ["empty", "truncated", "parse_failed"],
        "kept": 1,
        "excluded": {"teacher_error": 0, "empty": 1, "truncated": 0, "parse_failed": 1},
    }


def test_label_balance_policy_caps_each_label_per_label_set_and_accounts_for_every_row():
    rows = [("basic", "negative")] * 7 + [("basic", "positive")] * 2 + [("signed", "+1")] * 3 + [("signed", "-1")] * 3
    df = pl.DataFrame(
        {
            "prompt_id": [f"{(i * 7919) % 101:04d}" for i in range(len(rows) + 2)],
            "task": ["sentiment"] * len(rows) + ["emotion", "sentiment"],
            "label_set": [r[0] for r in rows] + ["ekman7", "basic"],
            "flag": [None] * (len(rows) + 1) + ["empty"],
            "parse_error": [None] * (len(rows) + 1) + ["empty"],
            "parsed": [[r[1]] for r in rows] + [["sad", "fear"], []],
        }
    )
    out, st = icldist_policy(df, ["empty", "parse_failed"], max_label_share=0.5)
    kept = out.filter(pl.col("keep"))
    basic = kept.filter(pl.col("label_set") == "basic")["parsed"].list.first().value_counts()
    assert basic["count"].to_list() == [2, 2]
    assert (
        kept.filter(pl.col("label_set") == "signed").height == 6
        and kept.filter(pl.col("task") == "emotion").height == 1
    )
    assert st == {
        "policy": ["empty", "parse_failed"],
        "kept": 11,
        "excluded": {"teacher_error": 0, "empty": 1, "parse_failed": 0, "label_balance": 5},
        "max_label_share": 0.5,
    }
    assert st["kept"] + sum(st["excluded"].values()) == df.height
    dropped = set(out.filter(pl.col("exclude_reason") == "label_balance")["prompt_id"])
    negatives = df.filter(pl.col("parsed").list.first() == "negative").sort("prompt_id")["prompt_id"].to_list()
    assert dropped == set(negatives[2:])  # the first two by prompt_id stay
    again, _ = icldist_policy(df.reverse(), ["empty", "parse_failed"], max_label_share=0.5)
    assert set(again.filter(pl.col("exclude_reason") == "label_balance")["prompt_id"]) == dropped  # order-free
    with pytest.raises(ValueError, match=r"unknown exclusion.*max_label_share"):
        icldist_policy(df, ["label_balance"])  # set by max_label_share, not listed
    with pytest.raises(ValueError, match="unknown exclusion"):  # refused when the task is built: before teacher work
        ICLDistTask(FORMATS, ["label_balance"])


def test_policy_params_name_the_bad_key():
    assert (
        parse_section(
            "icldist.policy", {"exclude": ["parse_failed"], "max_label_share": 0.4}, ICLDistPolicyParams
        ).max_label_share
        == 0.4
    )
    with pytest.raises(ParamsError, match="icldist.policy.max_label_share"):
        parse_section("icldist.policy", {"exclude": [], "max_label_share": 1.5}, ICLDistPolicyParams)


def test_parse_icl_answers_per_task():
    df = pl.DataFrame(
        {
            "task": ["sentiment", "sentiment", "emotion", "natinst", "natinst"],
            "label_set": ["signed", "basic", "ekman7", "task1", "task2"],
            "response": ["+1", "great", "['sadness', 'fear']", " Yes. ", "  "],
        }
    )
    out = parse_icl_answers(df, FORMATS)
    assert out["parsed"].to_list() == [["+1"], [], ["sad", "fear"], ["Yes."], []]
    assert out["parse_error"].to_list() == [None, "unknown_label", None, None, "empty"]


def test_own_answers_skip_the_teacher_and_keep_the_gold_key(echo_engine, tmp_path):
    reqs = requests(3).with_columns(
        pl.Series("answer_source", ["teacher", "gold", "demo_labels"]), pl.Series("gold", [None, "Yes.", "positive"])
    )
    task = ICLDistTask(FORMATS, ["empty"])
    teacher = resolve_teacher(teacher_params(), identity=IDENTITY, templater=False)
    out, st = generate_table(reqs, teacher, "icldist", tmp_path / "cache", own_answers=task.own_answers)
    assert len(echo_engine.calls) == 1 and st["gold_rows"] == 2 and st["teacher_rows"] == 1
    own = out.slice(1)
    assert own["response"].to_list() == ["Yes.", "positive"] and own["engine"].to_list() == ["gold", "demo_labels"]
    assert out["key"].to_list()[1:] == [gold_key(m) for m in reqs["user_message"].to_list()[1:]]
    # the key of an own answer is pinned: a new one would change every ICLDist corpus file
    assert gold_key("x") == "c43988679cabdee87a1aadc3b4ce3cbad585764794fa7579898835d0bb804b66"
    assert TeacherCache(tmp_path / "cache" / "icldist").stats()["unique_keys"] == 1  # own answers are not cached


def test_teacher_vs_zero_shot_counts_in_context_answers_that_keep_the_zero_shot_label():
    from sentidistill.icldist.task import teacher_vs_zero_shot

    df = pl.DataFrame(
        {
            "task": ["sentiment", "sentiment", "emotion", "emotion", "sentiment", "natinst"],
            "label_set": ["signed", "casual", "ekman7", "ekman7", "basic", "task1"],
            "answer_source": ["teacher", "teacher", "teacher", "teacher", "demo_labels", "teacher"],
            "gold": ["+1", "good", "['anger']", "['fear', 'sad']", "positive", None],
            "response": ["+1", "bad", "['anger']", "['sadness', 'fear']", "negative", "Yes."],
        }
    )
    out = teacher_vs_zero_shot(parse_icl_answers(df, FORMATS), FORMATS)
    assert out == {
        "emotion": {"prompts": 2, "agree": 2, "share": 1.0},  # order and aliases do not matter
        "sentiment": {"prompts": 2, "agree": 1, "share": 0.5},  # the demo_labels row is its own answer
    }
