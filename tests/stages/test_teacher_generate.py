"""`teacher_generate` resume: kill the stage mid-run, rerun, and get the same corpus
without regenerating or duplicating anything (real SmolLM2 teacher, llama.cpp)."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest

from sentidistill.paths import ROOT
from sentidistill.teacher.cache import TeacherCache

N = 24


def _child(work: Path, runner: str = "local") -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.stages.teacher_child", str(work), str(N), runner],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=open(work / "child.log", "ab"), start_new_session=True,
    )  # fmt: skip


def _sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


@pytest.mark.slow
def test_kill_and_resume_regenerates_nothing(tmp_path):
    full, resumed = tmp_path / "full", tmp_path / "resumed"
    full.mkdir()
    resumed.mkdir()
    assert _child(full).wait(timeout=600) == 0, (full / "child.log").read_text()[-3000:]
    ref_stats = json.loads((full / "stats.json").read_text())
    assert ref_stats["generated"] == N and ref_stats["cache_hits"] == 0

    proc = _child(resumed)
    cache = TeacherCache(resumed / "cache" / "knowdist")
    deadline = time.time() + 300
    while cache.stats()["rows"] < 4:
        assert proc.poll() is None, "the child finished before it could be killed: raise N"
        assert time.time() < deadline, (resumed / "child.log").read_text()[-3000:]
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert not (resumed / "out" / "knowdist_corpus.parquet").exists()
    cached = cache.stats()["unique_keys"]
    assert 4 <= cached < N

    assert _child(resumed).wait(timeout=600) == 0, (resumed / "child.log").read_text()[-3000:]
    stats = json.loads((resumed / "stats.json").read_text())
    assert stats["cache_hits"] == cached  # finished rows were not regenerated
    assert stats["generated"] == N - cached  # the engine answered only the rest
    st = cache.stats()
    assert st["rows"] == st["unique_keys"] == N  # nothing duplicated
    a, b = full / "out" / "knowdist_corpus.parquet", resumed / "out" / "knowdist_corpus.parquet"
    assert _sha(a) == _sha(b)  # the same final file as an uninterrupted run
    hits = pl.read_parquet(resumed / "out" / "knowdist_cache_hits.parquet")
    assert hits["cache_hit"].sum() == cached

    # a third run is all cache hits and still the same file
    assert _child(resumed).wait(timeout=600) == 0
    assert json.loads((resumed / "stats.json").read_text())["generated"] == 0
    assert _sha(b) == _sha(a)
