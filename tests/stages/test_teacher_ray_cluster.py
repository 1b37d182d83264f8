"""A real Ray cluster, not only a local Ray: a head and a second node started with `ray start`
on this machine (each with its own resources), the teacher stage run against it through
`teacher.ray.address` with its actor pinned to the second node, and that node killed mid-run.
The shards written before survive, the stage stops with a clear error, and after the node
rejoins a rerun completes the rest (docs/teacher.md "A multi-node run" is this recipe)."""

from __future__ import annotations

import hashlib
import json
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from sentidistill.faults import ENGINE_CALL_LOG_ENV
from sentidistill.paths import ROOT
from sentidistill.teacher.cache import TeacherCache
from tests.support.ray_cluster import WORKER_RESOURCE, Cluster, two_node_cluster

N = 32
BATCH = 4


@pytest.fixture
def cluster():
    with two_node_cluster() as c:
        yield c


def _child(work: Path, address: str, env: dict[str, str]) -> subprocess.Popen:
    env = {**env, ENGINE_CALL_LOG_ENV: str(work / "engine_calls.log")}
    args = [
        str(work),
        str(N),
        "ray" if address else "local",
        str(BATCH),
        "1",
        "3",
        address,
        WORKER_RESOURCE if address else "{}",
    ]
    return subprocess.Popen(
        [sys.executable, "-m", "tests.stages.teacher_child", *args],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=open(work / "child.log", "ab"),
        env=env,
    )


def _log(work: Path) -> str:
    return (work / "child.log").read_text(errors="replace")[-4000:]


def _sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


@pytest.mark.slow
def test_kill_the_worker_node_mid_run_then_rerun_on_a_rejoined_node(cluster: Cluster, tmp_path):
    ref = tmp_path / "local"
    ref.mkdir()
    assert _child(ref, "", cluster.env).wait(timeout=600) == 0, _log(ref)

    work = tmp_path / "cluster"
    work.mkdir()
    proc = _child(work, cluster.address, cluster.env)
    cache = TeacherCache(work / "cache" / "knowdist")
    deadline = time.time() + 300
    while cache.stats()["rows"] < 2 * BATCH:
        assert proc.poll() is None, f"the run ended before the node could be killed: {_log(work)}"
        assert time.time() < deadline, _log(work)
        time.sleep(0.1)
    cluster.worker_raylet().send_signal(signal.SIGKILL)  # the worker node dies
    assert proc.wait(timeout=600) != 0
    assert "the teacher run stopped" in _log(work) and "rerun to generate only the rest" in _log(work)
    survived = cache.stats()["unique_keys"]
    assert 2 * BATCH <= survived < N  # the shards written on the lost node are kept

    cluster.join_worker()
    assert _child(work, cluster.address, cluster.env).wait(timeout=600) == 0, _log(work)
    stats = json.loads((work / "stats.json").read_text())
    assert stats["cache_hits"] == survived and stats["generated"] == N - survived
    assert _sha(work / "out" / "knowdist_corpus.parquet") == _sha(ref / "out" / "knowdist_corpus.parquet")
    st = cache.stats()
    assert st["rows"] == st["unique_keys"] == N
    calls = Counter((work / "engine_calls.log").read_text().split())  # written by the actors on the cluster
    assert len(calls) == N and max(calls.values()) == 1
