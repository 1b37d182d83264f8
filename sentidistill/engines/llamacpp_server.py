"""llama.cpp's own OpenAI-compatible server (``python -m llama_cpp.server``, the ``server``
extra) on 127.0.0.1, for the ``openai`` engine: the seed notebook's setup, the sequential
baseline of ``bench/teacher_throughput.py`` and the engine's tests.

    with llamacpp_server(gguf, threads=2, n_ctx=4096, alias="teacher") as base_url:
        engine = OpenAIEngine(base_url, model="teacher")
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def free_port() -> int:
    """A TCP port nothing listens on now (127.0.0.1)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def llamacpp_server(
    gguf: str | Path,
    *,
    threads: int,
    n_ctx: int,
    alias: str,
    log_path: str | Path | None = None,
    start_timeout_s: float = 300.0,
) -> Iterator[str]:
    """Serve ``gguf`` as model ``alias``; yields the base URL (``http://127.0.0.1:<port>/v1``)
    once ``/v1/models`` answers. The server's log goes to ``log_path`` (a file, not a pipe:
    llama.cpp logs a lot and a full pipe would block it); it is stopped on exit."""
    port = free_port()
    log = Path(log_path) if log_path is not None else Path(tempfile.mkdtemp()) / "llamacpp_server.log"
    cmd = [
        sys.executable,
        "-m",
        "llama_cpp.server",
        "--model",
        str(gguf),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--n_threads",
        str(threads),
        "--n_ctx",
        str(n_ctx),
        "--model_alias",
        alias,
    ]
    with open(log, "wb") as fh:
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, start_new_session=True)
        base = f"http://127.0.0.1:{port}/v1"
        try:
            deadline = time.monotonic() + start_timeout_s
            while True:
                try:
                    with urllib.request.urlopen(f"{base}/models", timeout=2) as r:
                        r.read()
                    break
                except OSError:
                    if proc.poll() is not None or time.monotonic() > deadline:
                        tail = log.read_text(encoding="utf-8", errors="replace")[-2000:]
                        raise RuntimeError(f"llama_cpp.server did not start (log {log}):\n{tail}") from None
                    time.sleep(0.5)
            yield base
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
