"""Fault injection for the resume tests and ``bench/faults.py``: named failpoints where the
process kills itself with SIGKILL, and an audit log of engine calls.

Both are off unless their environment variable is set, and cost one dict lookup then:

* ``SENTIDISTILL_FAILPOINT=<name>[@<detail>][:<n>]`` -- SIGKILL at the n-th (default first)
  time the process passes failpoint ``<name>`` (with ``@<detail>``: only passes whose detail,
  e.g. the file being written, contains that text), e.g. ``teacher_cache.shard_written:2`` or
  ``io.before_replace@knowdist_corpus``. A real kill, the same as ``kill -9`` from outside,
  only at a chosen place instead of a chosen time.
* ``SENTIDISTILL_ENGINE_CALL_LOG=<file>`` -- every row a teacher engine answered is appended
  to ``<file>`` (one cache key per line) the moment the engine returns it, so a test can count
  how many times each prompt reached the engine across a killed run and its rerun.

Failpoints: ``teacher.batch_answered`` (the engine returned a batch, nothing written yet),
``teacher_cache.shard_written`` (a shard was just renamed into place), ``io.before_replace``
(an artifact's temp file is written, not yet renamed), ``sentibench.chunk_done`` (a SentiBench
evaluation chunk was scored, before its checkpoint), ``training.step`` (an optimizer step).
"""

from __future__ import annotations

import os
import signal
from collections import Counter
from collections.abc import Iterable

FAILPOINT_ENV = "SENTIDISTILL_FAILPOINT"
ENGINE_CALL_LOG_ENV = "SENTIDISTILL_ENGINE_CALL_LOG"

_hits: Counter[str] = Counter()


def failpoint(name: str, detail: str = "") -> None:
    """SIGKILL this process if ``SENTIDISTILL_FAILPOINT`` names this point (detail, hit count)."""
    spec = os.environ.get(FAILPOINT_ENV)
    if not spec:
        return
    target, _, nth = spec.partition(":")
    target, _, want = target.partition("@")
    if target != name or (want and want not in detail):
        return
    _hits[spec] += 1
    if _hits[spec] == int(nth or 1):
        os.kill(os.getpid(), signal.SIGKILL)


def record_engine_calls(keys: Iterable[str]) -> None:
    """Append the keys the engine just answered to the audit log (if one is set)."""
    path = os.environ.get(ENGINE_CALL_LOG_ENV)
    if not path:
        return
    with open(path, "a", encoding="utf-8") as fh:  # an audit log, not an artifact: appended
        fh.write("".join(f"{k}\n" for k in keys))
        fh.flush()
        os.fsync(fh.fileno())
