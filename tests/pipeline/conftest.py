"""One real ``dvc repro`` of the tiny preset in a temporary copy of the repo, shared by the
rebuild-property and remote-storage tests (slow: a few minutes on 2 cores).

The copy holds the models the tests build (1.5-2.2 GB): it is deleted as soon as the tests of
this folder are done, not at the end of the session, so the rest of the suite runs without it."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from sentidistill.paths import MODELS
from tests.tinyrepo import TINY_MODEL, dvc, make_tiny_repo, stage_runs

# the most disk the tests of this folder hold at once (3.5 GB measured on 2026-12-07: the repo, a
# student's resume checkpoint while the rebuild tests retrain it, then the S3 test's fresh clone)
TINY_REPO_PEAK_BYTES = 3_600_000_000


@pytest.fixture(scope="package")
def tiny_repo(tmp_path_factory) -> Iterator[Path]:
    if not (MODELS / TINY_MODEL / "manifest.json").is_file():
        pytest.fail(
            f"models/{TINY_MODEL} not materialized: `python -m sentidistill.stages.prepare_models {TINY_MODEL}` (make test does it)"
        )
    pytest.importorskip("llama_cpp")
    base = tmp_path_factory.getbasetemp()
    free = shutil.disk_usage(base).free
    if free < TINY_REPO_PEAK_BYTES:
        pytest.fail(
            f"the tiny repo tests need ~{TINY_REPO_PEAK_BYTES / 1e9:.1f} GB free under {base}, there are "
            f"{free / 1e9:.1f} GB: free some disk, or point pytest's --basetemp at a larger disk"
        )
    repo = make_tiny_repo(tmp_path_factory.mktemp("tiny") / "repo")
    t0 = time.perf_counter()
    p = dvc("repro", cwd=repo, timeout=3600)
    ran = stage_runs(p.stdout)
    print(f"\n[tiny repro] {len(ran)} stages in {time.perf_counter() - t0:.0f}s: {', '.join(ran)}")
    assert dvc("status", "-q", cwd=repo, check=False).returncode == 0
    yield repo
    shutil.rmtree(repo.parent, ignore_errors=True)
