"""generate_table: only missing rows reach the teacher, flags, own answers, failed rows;
and the flag-based exclusion policy (sentidistill/teacher/policy.py)."""

import polars as pl
import pytest

from sentidistill.teacher.cache import TeacherCache
from sentidistill.teacher.generate import TeacherRowsFailed, generate_table
from sentidistill.teacher.policy import apply_exclusions, exclude_rows, exclusion_stats
from sentidistill.teacher.resolve import resolve_teacher
from tests.sentidistill.teacher.conftest import IDENTITY, requests, teacher_params


def _run(reqs, tmp_path, own_answers=None, **over):
    teacher = resolve_teacher(teacher_params(**over), identity=IDENTITY, templater=False)
    return generate_table(reqs, teacher, "knowdist", tmp_path / "cache", own_answers=own_answers)


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
    samp = {
        c: {"max_new_tokens": 8, "temperature": 0.0, "top_p": 1.0, "seed": 0}
        for c in ("knowdist", "icldist", "icldist_demo_labels")
    }
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
    kept, pst = apply_exclusions(out, ["empty"])
    assert kept["keep"].to_list() == [True, False, True] and pst["excluded"] == {"empty": 1, "teacher_error": 0}
    kept, pst = apply_exclusions(out, ["empty", "truncated"])
    assert pst["kept"] == 1 and pst["kept"] + sum(pst["excluded"].values()) == 3
    with pytest.raises(ValueError, match="unknown exclusion"):
        apply_exclusions(out, ["bogus"])
    with pytest.raises(ValueError, match="unknown exclusion"):
        apply_exclusions(out, ["parse_failed"])  # a task's reason: only where the task names its condition


def test_a_task_adds_its_own_reasons_after_the_flags_and_counts_later_exclusions():
    df = pl.DataFrame({"flag": [None, None, "empty", None], "parse_error": [None, "unknown_label", "empty", None]})
    cond = {"parse_failed": pl.col("parse_error").is_not_null()}
    out, st = apply_exclusions(df, ["empty", "truncated", "parse_failed"], cond)
    assert out["exclude_reason"].to_list() == [None, "parse_failed", "empty", None]  # the flag comes first
    assert st == {
        "policy": ["empty", "truncated", "parse_failed"],
        "kept": 2,
        "excluded": {"teacher_error": 0, "empty": 1, "truncated": 0, "parse_failed": 1},
    }
    # a later step of the task (e.g. a balance) excludes one more kept row under its own reason
    later = exclude_rows(df, ["empty"], cond).with_columns(
        pl.when(pl.int_range(pl.len()) == 3)
        .then(pl.lit("label_balance"))
        .otherwise("exclude_reason")
        .alias("exclude_reason"),
        (pl.col("keep") & (pl.int_range(pl.len()) != 3)).alias("keep"),
    )
    st = exclusion_stats(later, ["empty"], ["label_balance"])
    assert st["excluded"] == {"teacher_error": 0, "empty": 1, "label_balance": 1} and st["kept"] == 2


def test_own_answers_skip_the_teacher(echo_engine, tmp_path):
    """A task's own answers (here: every other row) are recorded with their key, response and
    engine; only the other rows reach the teacher."""

    def own(req):
        mine = pl.int_range(pl.len()) % 2 == 1
        return req.select(
            pl.when(mine).then(pl.lit("a" * 64)).alias("key"),
            pl.lit("Yes.").alias("response"),
            pl.lit("reference").alias("engine"),
        )

    reqs = requests(2)
    out, st = _run(reqs, tmp_path, own_answers=own)
    assert len(echo_engine.calls) == 1 and st["gold_rows"] == 1 and st["teacher_rows"] == 1
    assert out["response"][1] == "Yes." and out["engine"][1] == "reference" and out["key"][1] == "a" * 64
    assert out["finish_reason"][1] == "stop" and out["n_completion_tokens"][1] == 0 and out["flag"][1] is None
    assert TeacherCache(tmp_path / "cache" / "knowdist").stats()["unique_keys"] == 1  # own answers are not cached


def test_sampled_rows_get_key_derived_seeds(echo_engine, tmp_path, monkeypatch):
    seen = []
    orig = echo_engine.generate

    def spy(self, prompts, params):
        seen.append(params.seed)
        return orig(self, prompts, params)

    monkeypatch.setattr(echo_engine, "generate", spy)
    samp = {
        c: {"max_new_tokens": 8, "temperature": 0.8, "top_p": 0.9, "seed": 0}
        for c in ("knowdist", "icldist", "icldist_demo_labels")
    }
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
    kept, pst = apply_exclusions(out, ["empty"])
    assert pst["excluded"]["teacher_error"] == 1 and pst["kept"] == 4

    echo_engine.failing = set()  # the server recovered: a rerun generates that row only
    echo_engine.calls.clear()
    out, st = _run(reqs, tmp_path)
    assert st["generated"] == 1 and st["cache_hits"] == 4 and "failed_rows" not in st
    assert len(echo_engine.calls) == 1 and out["flag"].null_count() == 5
