"""Two writers, one cache: two processes of `teacher_generate` on overlapping prompt tables
answer into the same `teacher_cache/knowdist/` at once (real SmolLM2 teacher, llama.cpp)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import polars as pl
import pytest

from sentidistill.faults import ENGINE_CALL_LOG_ENV, FAILPOINT_ENV
from sentidistill.paths import ROOT
from sentidistill.teacher.cache import TeacherCache
from tests.stages.teacher_child import overlapping_runs

TOTAL, EACH = 24, 16  # run A: prompts 0..15, run B: 8..23 -> 8 shared


def _start(work: Path) -> subprocess.Popen:
    env = {**os.environ, ENGINE_CALL_LOG_ENV: str(work / "engine_calls.log")}
    env.pop(FAILPOINT_ENV, None)
    return subprocess.Popen(
        [sys.executable, "-m", "tests.stages.teacher_child", str(work), str(EACH), "local", "2"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=open(work / "child.log", "ab"),
        env=env,
    )


@pytest.mark.slow
def test_two_runs_writing_one_cache_at_once_lose_and_corrupt_nothing(tmp_path):
    full, works = overlapping_runs(tmp_path, TOTAL, EACH)
    shared = tmp_path / "shared_cache"
    procs = [_start(w) for w in works]
    for w, p in zip(works, procs):
        assert p.wait(timeout=900) == 0, (w / "child.log").read_text()[-3000:]

    cache = TeacherCache(shared / "knowdist")
    assert cache.verify(full=True) == []  # every shard whole and readable
    st = cache.stats()
    assert st["unique_keys"] == TOTAL  # no key lost
    calls = Counter()
    for w in works:
        calls.update((w / "engine_calls.log").read_text().split())
        stats = json.loads((w / "stats.json").read_text())
        # each run's accounting: what it found, what it generated, what the other run answered meanwhile
        assert stats["cache_hits"] + stats["generated"] + stats["answered_elsewhere"] == stats["unique_prompts"] == EACH
        assert stats["rows"] == stats["kept"] + sum(stats["excluded"].values())
        corpus = pl.read_parquet(w / "out" / "knowdist_corpus.parquet")
        assert corpus.height == EACH and corpus["response"].str.len_chars().min() > 0
    # each worker skips rows the other run answered meanwhile; a prompt both had in flight at the
    # same moment is answered twice at most, and the greedy answers agree: whichever shard wins,
    # both corpora hold the same text for it
    assert max(calls.values()) <= 2
    elsewhere = sum(json.loads((w / "stats.json").read_text())["answered_elsewhere"] for w in works)
    assert sum(calls.values()) - TOTAL <= 2 * EACH - TOTAL - elsewhere  # skipped rows were not generated again
    a = pl.read_parquet(works[0] / "out" / "knowdist_corpus.parquet")
    b = pl.read_parquet(works[1] / "out" / "knowdist_corpus.parquet")
    assert set(calls) == set(a["key"]) | set(b["key"])  # each of the 24 prompts reached the engine
    assert cache.lookup(list(calls)).height == TOTAL
    both = a.join(b, on="key", suffix="_b")
    assert both.height == 2 * EACH - TOTAL and (both["response"] == both["response_b"]).all()
    # a third run over all 24 prompts, alone, is all cache hits: nothing lost, nothing repeated
    solo = tmp_path / "solo"
    solo.mkdir()
    full.write_parquet(solo / "knowdist_prompts.parquet")
    (solo / "cache").symlink_to(shared, target_is_directory=True)
    env = {**os.environ}
    env.pop(FAILPOINT_ENV, None)
    subprocess.run(
        [sys.executable, "-m", "tests.stages.teacher_child", str(solo), str(TOTAL), "local", "2"],
        cwd=ROOT,
        check=True,
        env=env,
        capture_output=True,
    )
    assert json.loads((solo / "stats.json").read_text())["generated"] == 0
