"""A flaky teacher server: the OpenAI-compatible engine inside the teacher stage against a
loopback server that answers 500, 429, hangs past the timeout, cuts the connection mid-body
and returns malformed JSON. Retries are bounded, rows that succeed are kept, rows that keep
failing are recorded with their reason (never dropped, never given another row's answer), and
a rerun asks the server for those rows only."""

from __future__ import annotations

import json
import re

import polars as pl
import pytest

from sentidistill.knowdist.task import KnowDistTask
from sentidistill.params import parse_section
from sentidistill.teacher.cache import TeacherCache
from sentidistill.teacher.config import TeacherParams
from sentidistill.teacher.generate import TeacherRowsFailed
from sentidistill.teacher.resolve import resolve_teacher
from sentidistill.teacher.task import run_task
from tests.stages.teacher_child import make_prompts
from tests.support.openai_server import FakeOpenAIServer, answer_for

N = 12
RETRIES = 3
TIMEOUT_S = 0.5
# row number -> what each attempt gets (the last action repeats)
FAULTS = {
    0: ["500", "500", "ok"],
    1: ["429", "ok"],
    2: ["timeout", "ok"],
    3: ["disconnect", "ok"],
    4: ["malformed", "ok"],
    5: ["500"],
    6: ["disconnect"],  # these two never succeed within the retries
}
NEVER = {5, 6}


def _row_of(prompt: str) -> int:
    return int(re.search(r"#(\d+)\b", prompt).group(1))


def _plan(prompt: str, attempt: int) -> str:
    actions = FAULTS.get(_row_of(prompt), ["ok"])
    return actions[min(attempt, len(actions)) - 1]


def _teacher(srv: FakeOpenAIServer, max_failed_rows: int = 0) -> TeacherParams:
    return parse_section(
        "teacher",
        {
            "model": "fake-teacher",
            "chat_template": False,
            "engine": {
                "backend": "openai",
                "openai": {
                    "base_url": srv.base_url,
                    "model": srv.model,
                    "timeout_s": TIMEOUT_S,
                    "retries": RETRIES,
                    "backoff_s": 0.0,
                    "max_concurrency": 4,
                },
            },
            "runner": "local",
            "ray": {
                "object_store_memory_mb": 256,
                "actors": 1,
                "cpus_per_actor": 1,
                "gpus_per_actor": 0,
                "batch_size": 4,
            },
            "cache": {"dir": "cache", "shard_rows": 4},
            "max_failed_rows": max_failed_rows,
            "sampling": {"knowdist": {"max_new_tokens": 16, "temperature": 0.0, "top_p": 1.0, "seed": 0}},
        },
        TeacherParams,
    )


def _run(tmp_path, teacher):
    return run_task(
        KnowDistTask(["empty"]),
        resolve_teacher(teacher),
        tmp_path / "prompts.parquet",
        tmp_path / "out",
        tmp_path / "cache",
        tmp_path / "stats.json",
    )


def test_flaky_server_keeps_what_succeeds_records_what_fails_and_retries_only_that(tmp_path):
    prompts = make_prompts(tmp_path / "prompts.parquet", N)
    by_row = {_row_of(m): m for m in prompts["user_message"]}
    with FakeOpenAIServer(plan=_plan, timeout_delay_s=TIMEOUT_S * 4) as srv:
        with pytest.raises(TeacherRowsFailed, match=f"{len(NEVER)} of {N} teacher prompts failed"):
            _run(tmp_path, _teacher(srv))
        stats = json.loads((tmp_path / "stats.json").read_text())
        assert stats["status"] == "failed" and stats["failed_rows"]["count"] == len(NEVER)
        failed_ids = {r["prompt_id"] for r in stats["failed_rows"]["rows"]}
        assert failed_ids == set(prompts.filter(pl.col("user_message").is_in([by_row[i] for i in NEVER]))["prompt_id"])
        assert all("failed after 4 attempts" in r["error"] for r in stats["failed_rows"]["rows"])
        assert not (tmp_path / "out" / "knowdist_corpus.parquet").exists()  # no corpus with holes in it
        # bounded retries: a row that never succeeds was tried 1 + RETRIES times; the others as planned
        tries = srv.attempts_by_prompt()
        assert {i: tries[by_row[i]] for i in FAULTS} == {0: 3, 1: 2, 2: 2, 3: 2, 4: 2, 5: 4, 6: 4}
        assert all(tries[by_row[i]] == 1 for i in range(N) if i not in FAULTS)
        # what was cached is each prompt's own answer
        shards = pl.concat([pl.read_parquet(p) for p in TeacherCache(tmp_path / "cache" / "knowdist").shards()])
        assert shards.height == N - len(NEVER) and (shards["finish_reason"] != "error").all()
        assert set(shards["response"]) == {answer_for(by_row[i]) for i in range(N) if i not in NEVER}

        # the server recovers; a rerun asks it for the two failed rows only
        srv.set_plan(None)
        before = dict(srv.attempts_by_prompt())
        stats = _run(tmp_path, _teacher(srv))
        after = srv.attempts_by_prompt()
        assert {p for p in after if after[p] != before.get(p, 0)} == {by_row[i] for i in NEVER}
        assert stats["generated"] == len(NEVER) and stats["cache_hits"] == N - len(NEVER)
        corpus = pl.read_parquet(tmp_path / "out" / "knowdist_corpus.parquet")
        assert corpus.height == N and corpus["flag"].null_count() == N
        assert corpus["response"].to_list() == [answer_for(m) for m in corpus["user_message"]]  # never misaligned


def test_allowed_failures_stay_in_the_corpus_flagged_and_out_of_training(tmp_path):
    make_prompts(tmp_path / "prompts.parquet", N)
    with FakeOpenAIServer(plan=_plan, timeout_delay_s=TIMEOUT_S * 4) as srv:
        stats = _run(tmp_path, _teacher(srv, max_failed_rows=len(NEVER)))
    corpus = pl.read_parquet(tmp_path / "out" / "knowdist_corpus.parquet")
    bad = corpus.filter(pl.col("flag") == "teacher_error")
    assert sorted(_row_of(m) for m in bad["user_message"]) == sorted(NEVER)
    assert (bad["finish_reason"] == "error").all() and (~bad["keep"]).all()
    assert (bad["exclude_reason"] == "teacher_error").all()
    assert stats["excluded"]["teacher_error"] == len(NEVER) and stats["kept"] == N - len(NEVER)
    assert stats["rows"] == stats["kept"] + sum(stats["excluded"].values())
    good = corpus.filter(pl.col("flag").is_null())
    assert good["response"].to_list() == [answer_for(m) for m in good["user_message"]]
