"""Rebuild properties of the real DAG (dvc.yaml) on the tiny preset: a no-op repro runs
nothing and takes seconds; an evaluation-only parameter reruns only evaluation; a new
KnowDist perspective reruns only what depends on it, and only new prompts reach the teacher."""

from __future__ import annotations

import time
from pathlib import Path

import polars as pl
import pytest

from sentidistill.presets import apply_text
from tests.tinyrepo import dvc, read_json, stage_runs

pytestmark = pytest.mark.slow

UPSTREAM_OF_EVAL = ("prepare_models", "sentibench_ingest", "corpus_", "knowdist_", "icldist_", "teacher_", "train_")
NOOP_SECONDS = 30  # measured ~5 s; generous for a loaded 2-core machine


def _set(repo: Path, override: dict) -> None:
    p = repo / "params.yaml"
    p.write_text(apply_text(p.read_text(encoding="utf-8"), override), encoding="utf-8")


def _stale(repo: Path) -> set[str]:
    """Stages `dvc status` reports as changed (names only)."""
    out = dvc("status", cwd=repo).stdout
    return {line[:-1] for line in out.splitlines() if line and not line.startswith((" ", "\t")) and line.endswith(":")}


def _repro(repo: Path) -> tuple[list[str], float]:
    t0 = time.perf_counter()
    p = dvc("repro", cwd=repo, timeout=3600)
    return stage_runs(p.stdout), time.perf_counter() - t0


def test_noop_repro_runs_nothing_in_seconds(tiny_repo: Path):
    ran, secs = _repro(tiny_repo)
    print(f"\n[no-op repro] {secs:.1f}s, ran {ran}")
    assert ran == []
    assert secs < NOOP_SECONDS


def test_eval_only_param_reruns_only_evaluation(tiny_repo: Path):
    _set(tiny_repo, {"sentibench": {"eval": {"max_new_tokens": 12}}})
    stale = _stale(tiny_repo)
    print(f"\n[eval param] stale: {sorted(stale)}")
    assert stale and all(s.startswith("sentibench_eval@") for s in stale)
    ran, secs = _repro(tiny_repo)
    print(f"[eval param] repro {secs:.0f}s ran {ran}")
    assert any(s.startswith("sentibench_eval@") for s in ran)
    # only evaluation and what reports on it (sentibench_report, report_index, export_student's
    # model card) may run: nothing upstream of evaluation
    assert not [s for s in ran if s.startswith(UPSTREAM_OF_EVAL)]


def test_knowdist_perspective_reruns_dependents_and_only_new_prompts_reach_teacher(tiny_repo: Path):
    before = set(pl.read_parquet(tiny_repo / "data/knowdist/knowdist_prompts.parquet")["user_message"].to_list())
    icl_before = read_json(tiny_repo / "stats/teacher_icldist.json")
    _set(tiny_repo, {"knowdist": {"prompts": {"perspectives": ["BASIC", "TARGET"], "prompts_per_text": 4}}})
    stale = _stale(tiny_repo)
    print(f"\n[perspective] stale: {sorted(stale)}")
    # downstream stages become stale only once knowdist_prompts' output changes
    assert "knowdist_prompts" in stale
    assert not [s for s in stale if s.startswith(("corpus_", "icldist_", "teacher_generate@", "sentibench_"))]
    ran, secs = _repro(tiny_repo)
    print(f"[perspective] repro {secs:.0f}s ran {ran}")
    assert ran[:2] == ["knowdist_prompts", "teacher_generate@knowdist"]
    untouched = ("corpus_", "icldist_", "teacher_generate@icldist", "sentibench_ingest", "prepare_models")
    assert not [s for s in ran if s.startswith(untouched)]
    after = set(pl.read_parquet(tiny_repo / "data/knowdist/knowdist_prompts.parquet")["user_message"].to_list())
    assert before < after  # the old prompts survive; new ones were added
    stats = read_json(tiny_repo / "stats/teacher_knowdist.json")
    print(
        f"[perspective] teacher: {stats['rows']} rows, {stats['cache_hits']} cache hits, {stats['generated']} generated"
    )
    assert stats["cache_hits"] == len(before)
    assert stats["generated"] == len(after - before)
    hits = pl.read_parquet(tiny_repo / "data/knowdist/knowdist_cache_hits.parquet")
    assert hits["cache_hit"].sum() == len(before)
    assert read_json(tiny_repo / "stats/teacher_icldist.json") == icl_before
