"""One real ``dvc repro`` of the tiny preset in a temporary copy of the repo, shared by the
rebuild-property and remote-storage tests (slow: a few minutes on 2 cores)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from sentidistill.paths import MODELS
from tests.tinyrepo import TINY_MODEL, dvc, make_tiny_repo, stage_runs


@pytest.fixture(scope="session")
def tiny_repo(tmp_path_factory) -> Path:
    if not (MODELS / TINY_MODEL / "manifest.json").is_file():
        pytest.fail(
            f"models/{TINY_MODEL} not materialized: `python -m sentidistill.stages.prepare_models {TINY_MODEL}` (make test does it)"
        )
    pytest.importorskip("llama_cpp")
    repo = make_tiny_repo(tmp_path_factory.mktemp("tiny") / "repo")
    t0 = time.perf_counter()
    p = dvc("repro", cwd=repo, timeout=3600)
    ran = stage_runs(p.stdout)
    print(f"\n[tiny repro] {len(ran)} stages in {time.perf_counter() - t0:.0f}s: {', '.join(ran)}")
    assert dvc("status", "-q", cwd=repo, check=False).returncode == 0
    return repo
