"""A lost Ray actor: SIGKILL the teacher actor's process mid-batch. With restarts allowed,
Ray Data replaces it and retries its batch; without, the stage stops with a clear error. In
both cases the shards already written survive and no answer lands on the wrong prompt (real
SmolLM2 teacher on llama.cpp inside a local Ray)."""

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

import psutil
import pytest

from sentidistill.faults import ENGINE_CALL_LOG_ENV, FAILPOINT_ENV
from sentidistill.paths import ROOT
from sentidistill.teacher.cache import TeacherCache

N = 24
BATCH = 4
ACTOR_TITLE = "MapBatches(TeacherWorker)"  # Ray names the actor's process after the operator


def _child(work: Path, runner: str, restarts: int) -> subprocess.Popen:
    env = {**os.environ, ENGINE_CALL_LOG_ENV: str(work / "engine_calls.log")}
    env.pop(FAILPOINT_ENV, None)
    return subprocess.Popen(
        [sys.executable, "-m", "tests.stages.teacher_child", str(work), str(N), runner, str(BATCH), "1", str(restarts)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=open(work / "child.log", "ab"),
        env=env,
    )


def _sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def _log(work: Path) -> str:
    return (work / "child.log").read_text(errors="replace")[-4000:]


def actor_processes(root_pid: int) -> list[psutil.Process]:
    """The teacher actor processes among ``root_pid``'s descendants (a local Ray's workers)."""
    try:
        procs = psutil.Process(root_pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []
    out = []
    for p in procs:
        try:
            if ACTOR_TITLE in " ".join(p.cmdline()):
                out.append(p)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return out


def kill_actor_mid_run(proc: subprocess.Popen, work: Path) -> int:
    """Wait until the actor has written a shard and is on its next batch, then SIGKILL it."""
    cache = TeacherCache(work / "cache" / "knowdist")
    deadline = time.time() + 300
    while cache.stats()["rows"] < BATCH or not actor_processes(proc.pid):
        assert proc.poll() is None, f"the child ended before the kill: {_log(work)}"
        assert time.time() < deadline, _log(work)
        time.sleep(0.05)
    (actor,) = actor_processes(proc.pid)
    actor.send_signal(signal.SIGKILL)
    return cache.stats()["unique_keys"]


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("local")
    assert _child(work, "local", 0).wait(timeout=600) == 0, _log(work)
    return work / "out" / "knowdist_corpus.parquet"


def _check(work: Path, reference: Path) -> None:
    assert _sha(work / "out" / "knowdist_corpus.parquet") == _sha(reference)  # every answer on its own prompt
    st = TeacherCache(work / "cache" / "knowdist").stats()
    assert st["rows"] == st["unique_keys"] == N
    calls = Counter((work / "engine_calls.log").read_text().split())
    assert len(calls) == N and set(calls.values()) == {1}  # the killed batch was in flight: answered once, later


@pytest.mark.slow
def test_a_lost_actor_is_replaced_and_its_batch_retried(reference, tmp_path):
    proc = _child(tmp_path, "ray", restarts=3)
    kill_actor_mid_run(proc, tmp_path)
    assert proc.wait(timeout=600) == 0, _log(tmp_path)
    stats = json.loads((tmp_path / "stats.json").read_text())
    assert stats["generated"] == N and stats["cache_hits"] == 0
    _check(tmp_path, reference)


@pytest.mark.slow
def test_without_restarts_the_stage_stops_clearly_and_a_rerun_completes(reference, tmp_path):
    proc = _child(tmp_path, "ray", restarts=0)
    kill_actor_mid_run(proc, tmp_path)
    assert proc.wait(timeout=600) != 0
    assert "the teacher run stopped" in _log(tmp_path) and "rerun to generate only the rest" in _log(tmp_path)
    survived = TeacherCache(tmp_path / "cache" / "knowdist").stats()["unique_keys"]
    assert BATCH <= survived < N  # the shards written before the kill are kept
    assert _child(tmp_path, "ray", restarts=0).wait(timeout=600) == 0, _log(tmp_path)
    stats = json.loads((tmp_path / "stats.json").read_text())
    assert stats["cache_hits"] == survived and stats["generated"] == N - survived
    _check(tmp_path, reference)
