import polars as pl
import pytest

from sentidistill.teacher.cache import TeacherCache
from sentidistill.teacher.corpus import TeacherRowsFailed, apply_policy, generate_table, label_cap
from tests.sentidistill.teacher.conftest import IDENTITY, requests, teacher_params


def _run(reqs, tmp_path, **over):
    return generate_table(
        reqs, teacher_params(**over), "knowdist", tmp_path / "cache", identity=IDENTITY, templater=False
    )


def test_only_missing_rows_reach_the_teacher(echo_engine, tmp_path):
    out, st = _run(requests(7), tmp_path)
    assert st["generated"] == 7 and st["cache_hits"] == 0 and len(echo_engine.calls) == 7
    assert st["cache"]["shards"] == 4  # batches of 2: one shard per answered batch (2 + 2 + 2 + 1)
    echo_engine.calls.clear()
    # 1 new text + 7 old: only the new one is generated
    more = pl.concat([requests(7), requests(1, extra="new").with_columns(pl.lit("f" * 16).alias("prompt_id"))])
    out2, st2 = _run(more, tmp_path)
    assert st2["generated"] == 1 and st2["cache_hits"] == 7 and len(echo_engine.calls) == 1
    assert out2.filter(pl.col("cache_hit")).height == 7
    assert out2.head(7).drop("cache_hit").equals(out.drop("cache_hit"))


def test_changing_sampling_regenerates(echo_engine, tmp_path):
    _run(requests(3), tmp_path)
    echo_engine.calls.clear()
    samp = {c: {"max_new_tokens": 8, "temperature": 0.0, "top_p": 1.0, "seed": 0}
            for c in ("knowdist", "icldist", "icldist_demo_labels")}  # fmt: skip
    _, st = _run(requests(3), tmp_path, sampling=samp)
    assert st["generated"] == 3 and st["cache_hits"] == 0


def test_duplicate_prompts_answered_once(echo_engine, tmp_path):
    reqs = requests(3).with_columns(pl.lit("same prompt").alias("user_message"))
    out, st = _run(reqs, tmp_path)
    assert st["generated"] == 1 and st["duplicate_prompts"] == 2 and out.height == 3
    assert out["key"].n_unique() == 1


def test_flags_and_policy(echo_engine, tmp_path):
    reqs = requests(3).with_columns(
        pl.Series("user_message", ["fine prompt here", "EMPTY answer please", "LONG answer please"])
    )
    out, st = _run(reqs, tmp_path)
    assert out["flag"].to_list() == [None, "empty", "truncated"]
    assert st["flags"] == {"empty": 1, "truncated": 1, "teacher_error": 0}
    kept, pst = apply_policy(out, ["empty"])
    assert kept["keep"].to_list() == [True, False, True] and pst["excluded"] == {"empty": 1, "teacher_error": 0}
    kept, pst = apply_policy(out, ["empty", "truncated"])
    assert pst["kept"] == 1 and pst["kept"] + sum(pst["excluded"].values()) == 3
    with pytest.raises(ValueError, match="unknown exclusion"):
        apply_policy(out, ["bogus"])


def test_parse_failed_policy():
    df = pl.DataFrame({"flag": [None, None, "empty"], "parse_error": [None, "unknown_label", "empty"]})
    out, st = apply_policy(df, ["empty", "truncated", "parse_failed"])
    assert out["exclude_reason"].to_list() == [None, "parse_failed", "empty"]
    assert st == {"policy": ["empty", "truncated", "parse_failed"], "kept": 1,
                  "excluded": {"teacher_error": 0, "empty": 1, "truncated": 0, "parse_failed": 1}}  # fmt: skip


def test_label_cap():
    assert label_cap([7, 2], 0.5) == 2  # 2 + 2 kept, neither above half
    assert label_cap([7, 6, 4], 0.5) == 7  # 7 of 17: already balanced enough
    assert label_cap([9, 3, 2], 0.5) == 5  # 5 of 10
    assert label_cap([5], 0.5) == 0  # one label only: nothing to learn but the prior
    assert label_cap([5], 1.0) == 5 and label_cap([], 0.5) == 0


def test_label_balance_policy_caps_each_label_per_label_set_and_accounts_for_every_row():
    rows = [("basic", "negative")] * 7 + [("basic", "positive")] * 2 + [("signed", "+1")] * 3 + [("signed", "-1")] * 3
    df = pl.DataFrame({
        "prompt_id": [f"{(i * 7919) % 101:04d}" for i in range(len(rows) + 2)],
        "task": ["sentiment"] * len(rows) + ["emotion", "sentiment"],
        "label_set": [r[0] for r in rows] + ["ekman7", "basic"],
        "flag": [None] * (len(rows) + 1) + ["empty"],
        "parse_error": [None] * (len(rows) + 1) + ["empty"],
        "parsed": [[r[1]] for r in rows] + [["sad", "fear"], []],
    })  # fmt: skip
    out, st = apply_policy(df, ["empty", "parse_failed"], max_label_share=0.5)
    kept = out.filter(pl.col("keep"))
    assert kept.filter(pl.col("label_set") == "basic")["parsed"].list.first().value_counts()["count"].to_list() == [
        2,
        2,
    ]
    assert (
        kept.filter(pl.col("label_set") == "signed").height == 6
        and kept.filter(pl.col("task") == "emotion").height == 1
    )
    assert (
        st["excluded"] == {"teacher_error": 0, "empty": 1, "parse_failed": 0, "label_balance": 5}
        and st["max_label_share"] == 0.5
    )
    assert st["kept"] + sum(st["excluded"].values()) == df.height
    dropped = set(out.filter(pl.col("exclude_reason") == "label_balance")["prompt_id"])
    negatives = df.filter(pl.col("parsed").list.first() == "negative").sort("prompt_id")["prompt_id"].to_list()
    assert dropped == set(negatives[2:])  # the first two by prompt_id stay
    again, _ = apply_policy(df.reverse(), ["empty", "parse_failed"], max_label_share=0.5)
    assert set(again.filter(pl.col("exclude_reason") == "label_balance")["prompt_id"]) == dropped  # order-free
    with pytest.raises(ValueError, match="unknown exclusion"):
        apply_policy(df, ["label_balance"])  # set by max_label_share, not listed


def test_label_balance_is_refused_where_answers_have_no_labels(tmp_path):
    from sentidistill.teacher.run import run_teacher_generate

    with pytest.raises(ValueError, match="knowdist.policy.max_label_share"):  # before any teacher work
        run_teacher_generate("knowdist", teacher_params(), ["empty"], tmp_path / "p.parquet", tmp_path / "o",
                             tmp_path / "c", tmp_path / "m.json", max_label_share=0.5)  # fmt: skip


def test_gold_rows_skip_the_teacher(echo_engine, tmp_path):
    reqs = requests(2).with_columns(pl.Series("answer_source", ["teacher", "gold"]), pl.Series("gold", [None, "Yes."]))
    out, st = _run(reqs, tmp_path)
    assert len(echo_engine.calls) == 1 and st["gold_rows"] == 1
    assert out["response"][1] == "Yes." and out["engine"][1] == "gold"


def test_sampled_rows_get_key_derived_seeds(echo_engine, tmp_path, monkeypatch):
    seen = []
    orig = echo_engine.generate

    def spy(self, prompts, params):
        seen.append(params.seed)
        return orig(self, prompts, params)

    monkeypatch.setattr(echo_engine, "generate", spy)
    samp = {c: {"max_new_tokens": 8, "temperature": 0.8, "top_p": 0.9, "seed": 0}
            for c in ("knowdist", "icldist", "icldist_demo_labels")}  # fmt: skip
    out, _ = _run(requests(3), tmp_path, sampling=samp)
    assert seen == [int(k[:8], 16) for k in out["key"].to_list()]
    assert TeacherCache(tmp_path / "cache" / "knowdist").stats()["unique_keys"] == 3


def test_a_failing_row_fails_alone_is_never_cached_and_only_it_is_retried(echo_engine, tmp_path):
    """The batch holding a bad row is answered row by row: its neighbour keeps its answer, the
    bad row is recorded with its reason (not dropped, not given another row's answer), the
    stage stops unless teacher.max_failed_rows allows it, and a rerun asks only for that row."""
    reqs = requests(5)  # batches of 2: [0, 1], [2, 3], [4]
    echo_engine.failing = {"3"}
    with pytest.raises(TeacherRowsFailed, match="1 of 5 teacher prompts failed") as exc:
        _run(reqs, tmp_path)
    assert exc.value.stats["failed_rows"]["count"] == 1
    (row,) = exc.value.stats["failed_rows"]["rows"]
    assert row["prompt_id"] == f"{3:016x}" and "engine failed on" in row["error"]
    assert TeacherCache(tmp_path / "cache" / "knowdist").stats()["unique_keys"] == 4  # the answered ones

    echo_engine.calls.clear()
    echo_engine.attempts.clear()
    out, st = _run(reqs, tmp_path, max_failed_rows=1)  # allowed now: the row stays, flagged
    assert st["cache_hits"] == 4 and st["generated"] == 0 and st["failed"] == 1
    assert echo_engine.calls == [] and [a.split()[1] for a in echo_engine.attempts] == ["3"]  # only row 3 was asked
    bad = out.filter(pl.col("prompt_id") == f"{3:016x}")
    assert bad["flag"].to_list() == ["teacher_error"] and bad["response"].to_list() == [""]
    assert bad["finish_reason"].to_list() == ["error"]
    good = out.filter(pl.col("prompt_id") != f"{3:016x}")
    assert all(r.endswith(f"world {m.split()[1]}") for r, m in zip(good["response"], good["user_message"]))
    kept, pst = apply_policy(out, ["empty"])
    assert pst["excluded"]["teacher_error"] == 1 and pst["kept"] == 4

    echo_engine.failing = set()  # the server recovered: a rerun generates that row only
    echo_engine.calls.clear()
    out, st = _run(reqs, tmp_path)
    assert st["generated"] == 1 and st["cache_hits"] == 4 and "failed_rows" not in st
    assert len(echo_engine.calls) == 1 and out["flag"].null_count() == 5
