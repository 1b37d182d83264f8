"""A real two-node Ray cluster on this machine, started with `ray start` (the commands of
docs/teacher.md "A multi-node run"), for the cluster test and bench/faults.py.

Every process of the cluster carries an environment marker, so teardown stops this cluster
only (never a Ray the user runs beside it), including the agents Ray starts with an
environment of their own (found as children of the marked processes).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psutil

from sentidistill.faults import FAILPOINT_ENV

RAY = str(Path(sys.executable).with_name("ray"))
WORKER_RESOURCE = '{"teacher_node": 1}'  # the teacher actor asks for it: it runs on the second node
OBJECT_STORE_BYTES = str(200 * 1024 * 1024)
MARKER = "SENTIDISTILL_TEST_CLUSTER"
START_TIMEOUT_S = 180


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Cluster:
    address: str
    env: dict[str, str]  # for processes that talk to the cluster (token auth on)
    tag: str
    worker_args: list[str]

    def join_worker(self) -> None:
        """Start (again) the second node, the one with the teacher resource."""
        ray(self.worker_args, self.env)

    def processes(self, only: str = "") -> list[psutil.Process]:
        found = []
        for p in psutil.process_iter(["pid"]):
            try:
                if p.environ().get(MARKER) == self.tag and only in " ".join(p.cmdline()):
                    found.append(p)
            except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                continue
        return found

    def worker_raylet(self) -> psutil.Process:
        (raylet,) = [p for p in self.processes(only="teacher_node") if Path(p.cmdline()[0]).name == "raylet"]
        return raylet

    def stop(self) -> None:
        procs = self.processes()
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


def ray(args: list[str], env: dict[str, str]) -> None:
    out = subprocess.run([RAY, *args], env=env, capture_output=True, text=True, timeout=START_TIMEOUT_S)
    if out.returncode != 0:
        raise RuntimeError(f"ray {' '.join(args[:2])} failed: {out.stdout[-2000:]}{out.stderr[-2000:]}")


@contextmanager
def two_node_cluster() -> Iterator[Cluster]:
    """A head (1 CPU, resource head_node) and a worker node (2 CPUs, resource teacher_node)."""
    tag = uuid.uuid4().hex
    env = {**os.environ, MARKER: tag, "RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "token"}
    env.pop(FAILPOINT_ENV, None)
    port = _free_port()
    tmp = tempfile.mkdtemp(prefix="rc", dir="/tmp")  # short: Ray's socket paths have a length limit
    head = [
        "start",
        "--head",
        "--node-ip-address=127.0.0.1",
        f"--port={port}",
        "--num-cpus=1",
        '--resources={"head_node": 1}',
        "--include-dashboard=false",
        f"--temp-dir={tmp}",
        f"--object-store-memory={OBJECT_STORE_BYTES}",
        "--disable-usage-stats",
    ]
    worker = [
        "start",
        f"--address=127.0.0.1:{port}",
        "--num-cpus=2",
        f"--resources={WORKER_RESOURCE}",
        f"--object-store-memory={OBJECT_STORE_BYTES}",
    ]
    cluster = Cluster(f"127.0.0.1:{port}", env, tag, worker)
    try:
        ray(head, env)
        cluster.join_worker()
        yield cluster
    finally:
        cluster.stop()
