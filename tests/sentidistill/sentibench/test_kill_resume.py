"""SentiBench evaluation under kill -9: killed after its second engine call, the rerun scores
only the examples not yet checkpointed and gives the predictions of an uninterrupted run."""

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

from sentidistill.faults import FAILPOINT_ENV
from sentidistill.paths import ROOT

pytestmark = pytest.mark.slow

N, PER_CALL = 16, 4


def _run(work: Path, failpoint: str | None = None) -> int:
    work.mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k != FAILPOINT_ENV}
    if failpoint:
        env[FAILPOINT_ENV] = failpoint
    with open(work / "child.log", "ab") as log:
        return subprocess.run(
            [sys.executable, "-m", "tests.sentidistill.sentibench.eval_child", str(work)],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=log,
            timeout=600,
        ).returncode


def test_kill_mid_dataset_then_rerun_scores_each_example_once(tmp_path):
    full, killed = tmp_path / "full", tmp_path / "killed"
    assert _run(full) == 0, (full / "child.log").read_text()[-2000:]
    assert _run(killed, "sentibench.chunk_done:2") == -signal.SIGKILL
    parts = sorted(p.name.rsplit(".", 2)[-2] for p in (killed / "ckpt").glob("*.part*.parquet"))
    assert parts == ["part000000", "part000004"]  # the two finished engine calls are on disk
    assert not (killed / "preds.parquet").exists()
    assert _run(killed) == 0, (killed / "child.log").read_text()[-2000:]
    scored = Counter((killed / "scored.log").read_text().split())
    assert len(scored) == N and set(scored.values()) == {1}  # nothing scored twice across the kill
    assert_frame_equal(pl.read_parquet(killed / "preds.parquet"), pl.read_parquet(full / "preds.parquet"))
    assert not list((killed / "ckpt").glob("*.part*")) and not list(killed.rglob(".*.tmp"))  # parts folded in
