"""Review report on two commits of a tiny configuration in a temporary git + DVC repo."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from sentidistill import presets
from sentidistill.paths import ROOT
from sentidistill.review import build_review, main
from tests.tinyrepo import dvc, env

DVC_YAML = """stages:
  sentibench_eval:
    cmd: echo eval
    params:
      - sentibench.eval
    metrics:
      - metrics/sentibench/base-student.json:
          cache: false
"""


def _metrics(avg: float, sst2: float) -> dict:
    return {
        "avg": avg,
        "categories": {"BSA": sst2, "MSA": 40.0, "FSA": 10.0},
        "datasets": {"sst2": {"f1": sst2, "n_examples": 1, "n_seeds": 1}},
    }


def _git(*args: str, cwd: Path) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, env=env())


@pytest.fixture
def two_commits(tmp_path: Path) -> Path:
    if shutil.which("git") is None:
        pytest.skip("git missing")
    repo = tmp_path / "repo"
    repo.mkdir()
    _git("init", "-q", "-b", "main", cwd=repo)
    dvc("init", "-q", cwd=repo)
    (repo / "params.yaml").write_text(
        presets.apply_text((ROOT / "params.yaml").read_text(), presets.load_preset("tiny")), encoding="utf-8"
    )
    (repo / "dvc.yaml").write_text(DVC_YAML)
    m = repo / "metrics" / "sentibench"
    m.mkdir(parents=True)
    (m / "base-student.json").write_text(json.dumps(_metrics(30.0, 50.0)))
    (repo / "reports").mkdir()
    (repo / "reports" / "sentibench_categories.png").write_bytes(b"\x89PNG")
    _git("add", "-A", cwd=repo)
    _git("commit", "-q", "-m", "base", cwd=repo)
    _git("checkout", "-q", "-b", "change", cwd=repo)
    p = repo / "params.yaml"
    p.write_text(p.read_text().replace("shots: 1 ", "shots: 2 "), encoding="utf-8")
    (m / "base-student.json").write_text(json.dumps(_metrics(32.5, 47.0)))
    _git("commit", "-q", "-am", "two shots", cwd=repo)
    return repo


def test_review_two_commits(two_commits: Path):
    md = build_review("main", two_commits)
    assert "## sentidistill review: `main`" in md
    params_part = md.split("### Parameters")[1].split("### Metrics")[0]
    assert "sentibench.eval.shots" in params_part and "| 1 " in params_part and "| 2 " in params_part
    assert "sentibench.eval.seeds" not in params_part  # unchanged params are left out
    metrics_part = md.split("### Metrics")[1].split("### SentiBench")[0]
    assert "metrics/sentibench/base-student.json" in metrics_part and "avg" in metrics_part
    bench = md.split("### SentiBench")[1]
    assert "| base-student | 30.00 | 32.50 | +2.50 ▲ |" in bench
    assert "| SST-2 | 50.00 | 47.00 | -3.00 ▼ |" in bench or "| SST2 | 50.00 | 47.00 | -3.00 ▼ |" in bench
    assert "reports/sentibench_categories.png" in md.split("### Plots")[1]


def test_review_cli_and_bad_base(two_commits: Path):
    out = two_commits / "reports" / "review.md"
    assert main(["--base", "main", "--repo", str(two_commits), "--link-prefix", "https://x/blob/abc/"]) == 0
    assert "](https://x/blob/abc/reports/sentibench_categories.png)" in out.read_text()
    with pytest.raises(SystemExit, match="not found"):
        build_review("no-such-branch", two_commits)
