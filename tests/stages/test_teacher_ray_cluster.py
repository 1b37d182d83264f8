"""A real Ray cluster, not only a local Ray: a head and a second node started with `ray start`
on this machine (each with its own resources), the teacher stage run against it through
`teacher.ray.address` with its actor pinned to the second node, and that node killed mid-run.
The shards written before survive, the stage stops with a clear error, and after the node
rejoins a rerun completes the rest (docs/teacher.md "A multi-node run" is this recipe)."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path

import psutil
import pytest

from sentidistill.faults import ENGINE_CALL_LOG_ENV, FAILPOINT_ENV
from sentidistill.paths import ROOT
from sentidistill.teacher.cache import TeacherCache
from tests.sentidistill.engines.conftest import free_port

N = 32
BATCH = 4
RAY = str(Path(sys.executable).with_name("ray"))
WORKER_RESOURCE = '{"teacher_node": 1}'
OBJECT_STORE_BYTES = str(200 * 1024 * 1024)
MARKER = "SENTIDISTILL_TEST_CLUSTER"  # every process of the test cluster carries it (teardown kills only those)


def _cluster_env(tag: str) -> dict[str, str]:
    env = {**os.environ, MARKER: tag, "RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "token"}
    env.pop(FAILPOINT_ENV, None)
    return env


def _ray(args: list[str], env: dict[str, str]) -> None:
    out = subprocess.run([RAY, *args], env=env, capture_output=True, text=True, timeout=180)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]


def _cluster_processes(tag: str, *, only: str = "") -> list[psutil.Process]:
    found = []
    for p in psutil.process_iter(["pid"]):
        try:
            if p.environ().get(MARKER) == tag and only in " ".join(p.cmdline()):
                found.append(p)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    return found


@pytest.fixture
def cluster():
    tag = uuid.uuid4().hex
    env = _cluster_env(tag)
    port = free_port()
    tmp = tempfile.mkdtemp(prefix="rc", dir="/tmp")  # short: Ray's socket paths have a length limit
    head = ["start", "--head", "--node-ip-address=127.0.0.1", f"--port={port}", "--num-cpus=1",
            '--resources={"head_node": 1}', "--include-dashboard=false", f"--temp-dir={tmp}",
            f"--object-store-memory={OBJECT_STORE_BYTES}", "--disable-usage-stats"]  # fmt: skip
    worker = ["start", f"--address=127.0.0.1:{port}", "--num-cpus=2", f"--resources={WORKER_RESOURCE}",
              f"--object-store-memory={OBJECT_STORE_BYTES}"]  # fmt: skip
    _ray(head, env)
    _ray(worker, env)
    try:
        yield {"address": f"127.0.0.1:{port}", "env": env, "join": lambda: _ray(worker, env), "tag": tag}
    finally:  # the cluster's processes and their children (Ray's agents start with an environment of their own)
        procs = _cluster_processes(tag)
        for p in list(procs):
            try:
                procs += p.children(recursive=True)
            except psutil.NoSuchProcess:
                continue
        for p in procs:
            try:
                p.kill()
            except psutil.NoSuchProcess:
                continue


def _child(work: Path, address: str, env: dict[str, str]) -> subprocess.Popen:
    env = {**env, ENGINE_CALL_LOG_ENV: str(work / "engine_calls.log")}
    args = [str(work), str(N), "ray" if address else "local", str(BATCH), "1", "3", address,
            WORKER_RESOURCE if address else "{}"]  # fmt: skip
    return subprocess.Popen([sys.executable, "-m", "tests.stages.teacher_child", *args], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=open(work / "child.log", "ab"), env=env)  # fmt: skip


def _log(work: Path) -> str:
    return (work / "child.log").read_text(errors="replace")[-4000:]


def _sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


@pytest.mark.slow
def test_kill_the_worker_node_mid_run_then_rerun_on_a_rejoined_node(cluster, tmp_path):
    ref = tmp_path / "local"
    ref.mkdir()
    assert _child(ref, "", cluster["env"]).wait(timeout=600) == 0, _log(ref)

    work = tmp_path / "cluster"
    work.mkdir()
    proc = _child(work, cluster["address"], cluster["env"])
    cache = TeacherCache(work / "cache" / "knowdist")
    deadline = time.time() + 300
    while cache.stats()["rows"] < 2 * BATCH:
        assert proc.poll() is None, f"the run ended before the node could be killed: {_log(work)}"
        assert time.time() < deadline, _log(work)
        time.sleep(0.1)
    (raylet,) = [p for p in _cluster_processes(cluster["tag"], only="teacher_node")  # the worker node's raylet
                 if Path(p.cmdline()[0]).name == "raylet"]  # fmt: skip
    raylet.send_signal(signal.SIGKILL)
    assert proc.wait(timeout=600) != 0
    assert "the teacher run stopped" in _log(work) and "rerun to generate only the rest" in _log(work)
    survived = cache.stats()["unique_keys"]
    assert 2 * BATCH <= survived < N  # the shards written on the lost node are kept

    cluster["join"]()
    assert _child(work, cluster["address"], cluster["env"]).wait(timeout=600) == 0, _log(work)
    stats = json.loads((work / "stats.json").read_text())
    assert stats["cache_hits"] == survived and stats["generated"] == N - survived
    assert _sha(work / "out" / "knowdist_corpus.parquet") == _sha(ref / "out" / "knowdist_corpus.parquet")
    st = cache.stats()
    assert st["rows"] == st["unique_keys"] == N
    calls = Counter((work / "engine_calls.log").read_text().split())  # written by the actors on the cluster
    assert len(calls) == N and max(calls.values()) == 1
