"""Label scoring under kill -9 (ICLDist demo labels, classifier labels): killed right after a
cache shard, the rerun scores only the rest, each text once, and the scores equal an
uninterrupted run's (real SmolLM2 teacher, llama.cpp)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from sentidistill.faults import ENGINE_CALL_LOG_ENV, FAILPOINT_ENV
from sentidistill.paths import ROOT

N = 12


def _run(work: Path, failpoint: str | None = None) -> int:
    work.mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k != FAILPOINT_ENV}
    env[ENGINE_CALL_LOG_ENV] = str(work / "engine_calls.log")
    if failpoint:
        env[FAILPOINT_ENV] = failpoint
    with open(work / "child.log", "ab") as log:
        return subprocess.run(
            [sys.executable, "-m", "tests.stages.score_child", str(work), str(N)],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=log,
            timeout=600,
        ).returncode


@pytest.mark.slow
def test_kill_after_a_shard_then_rerun_scores_each_text_once(tmp_path):
    full, killed = tmp_path / "full", tmp_path / "killed"
    assert _run(full) == 0, (full / "child.log").read_text()[-2000:]
    assert _run(killed, "teacher_cache.shard_written:3") == -signal.SIGKILL
    assert len(list((killed / "cache" / "classifier_labels").glob("*.parquet"))) == 3
    assert _run(killed) == 0, (killed / "child.log").read_text()[-2000:]
    calls = Counter((killed / "engine_calls.log").read_text().split())
    assert len(calls) == N and set(calls.values()) == {1}
    assert_frame_equal(pl.read_parquet(killed / "scores.parquet"), pl.read_parquet(full / "scores.parquet"))
    assert not list(killed.rglob(".*.tmp"))
