"""`teacher_generate` under kill -9: kill the stage at several points, rerun, and get the
same corpus as an uninterrupted run, with every prompt answered by the engine exactly once
across both runs (real SmolLM2 teacher, llama.cpp; the engine-call audit log of
:mod:`sentidistill.faults` counts the answers)."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import polars as pl
import pytest

from sentidistill.faults import ENGINE_CALL_LOG_ENV, FAILPOINT_ENV
from sentidistill.paths import ROOT
from sentidistill.teacher.cache import TeacherCache

N = 24
BATCH = 4  # rows per engine call: a kill "mid-batch" loses the batch in flight, nothing else


def _child(work: Path, runner: str = "local", failpoint: str | None = None) -> subprocess.Popen:
    env = {**os.environ, ENGINE_CALL_LOG_ENV: str(work / "engine_calls.log")}
    env.pop(FAILPOINT_ENV, None)
    if failpoint:
        env[FAILPOINT_ENV] = failpoint
    return subprocess.Popen(
        [sys.executable, "-m", "tests.stages.teacher_child", str(work), str(N), runner, str(BATCH)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=open(work / "child.log", "ab"),
        start_new_session=True,
        env=env,
    )


def _sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def _log(work: Path) -> str:
    return (work / "child.log").read_text()[-3000:]


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("uninterrupted")
    assert _child(work).wait(timeout=600) == 0, _log(work)
    stats = json.loads((work / "stats.json").read_text())
    assert stats["generated"] == N and stats["cache_hits"] == 0
    return work


def _kill_mid_batch(work: Path) -> None:
    """SIGKILL from outside while the engine works: after >= 1 shard, before the last."""
    proc = _child(work)
    cache = TeacherCache(work / "cache" / "knowdist")
    deadline = time.time() + 300
    while cache.stats()["rows"] < BATCH:
        assert proc.poll() is None, "the child finished before it could be killed: raise N"
        assert time.time() < deadline, _log(work)
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)


def _kill_at(failpoint: str):
    def kill(work: Path) -> None:
        rc = _child(work, failpoint=failpoint).wait(timeout=600)
        assert rc == -signal.SIGKILL, f"failpoint {failpoint} was not reached (rc {rc}): {_log(work)}"

    return kill


KILLS = {
    "mid_batch": _kill_mid_batch,
    "right_after_a_shard_rename": _kill_at("teacher_cache.shard_written:3"),
    "during_the_corpus_write": _kill_at("io.before_replace@knowdist_corpus.parquet"),
    "during_the_cache_hits_write": _kill_at("io.before_replace@knowdist_cache_hits.parquet"),
}


@pytest.mark.slow
@pytest.mark.parametrize("kill", list(KILLS))
def test_kill_anywhere_then_rerun_gives_the_uninterrupted_corpus(uninterrupted, tmp_path, kill):
    work = tmp_path
    KILLS[kill](work)
    cache = TeacherCache(work / "cache" / "knowdist")
    cached = cache.stats()["unique_keys"]
    assert 0 < cached <= N
    if kill != "during_the_cache_hits_write":
        assert not (work / "out" / "knowdist_corpus.parquet").exists()  # no partial artifact

    assert _child(work).wait(timeout=600) == 0, _log(work)
    stats = json.loads((work / "stats.json").read_text())
    assert stats["cache_hits"] == cached and stats["generated"] == N - cached  # only the rest was generated
    st = cache.stats()
    assert st["rows"] == st["unique_keys"] == N  # nothing duplicated in the cache
    calls = Counter((work / "engine_calls.log").read_text().split())
    assert len(calls) == N and set(calls.values()) == {1}  # every prompt answered exactly once, both runs
    name = "knowdist_corpus.parquet"
    assert _sha(uninterrupted / "out" / name) == _sha(work / "out" / name)  # byte-identical corpus
    hits = pl.read_parquet(work / "out" / "knowdist_cache_hits.parquet")
    assert hits["cache_hit"].sum() == cached
    assert stats["rows"] == stats["kept"] + sum(stats["excluded"].values())  # the accounting identity
    leftovers = [p for p in work.rglob(".*.tmp")]
    assert leftovers == [], f"orphaned temp files: {leftovers}"


@pytest.mark.slow
def test_a_third_run_is_all_cache_hits_and_the_same_file(uninterrupted, tmp_path):
    assert _child(tmp_path).wait(timeout=600) == 0
    assert _child(tmp_path).wait(timeout=600) == 0
    assert json.loads((tmp_path / "stats.json").read_text())["generated"] == 0
    a = uninterrupted / "out" / "knowdist_corpus.parquet"
    assert _sha(tmp_path / "out" / "knowdist_corpus.parquet") == _sha(a)
    assert Counter((tmp_path / "engine_calls.log").read_text().split()).total() == N
