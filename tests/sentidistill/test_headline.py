"""Headline metrics: a few numbers per stage in metrics/, the whole dump in stats/."""

from __future__ import annotations

import json

import pytest
import yaml

from sentidistill import headline
from sentidistill.paths import ROOT


def test_wildcards_keep_the_nesting_and_skip_absent_paths():
    stats = {"total": {"raw": 10, "kept": 8}, "by_file": {"a": {"raw": 10}}, "seconds": 3.2}
    assert headline.headline("corpus_ingest", stats) == {"total": {"raw": 10, "kept": 8}}
    evald = {
        "avg": 50.0,
        "categories": {"BSA": 60.0},
        "config": {"seeds": [0]},
        "datasets": {"sst2": {"f1": 70.0, "n_examples": 120, "accuracy": 71.0}},
    }
    assert headline.headline("sentibench/base-student", evald) == {
        "avg": 50.0,
        "categories": {"BSA": 60.0},
        "datasets": {"sst2": {"f1": 70.0}},
    }


def test_the_comparison_is_matched_before_the_per_model_pattern():
    cmp = {
        "mean": {"delta": 1.0, "ci_low": 0.1, "ci_high": 2.0, "ci_half_width": 0.95},
        "datasets": {"imdb": {"delta": 3.0, "n_examples": 60}},
        "method": "...",
    }
    assert headline.headline("sentibench/comparison", cmp) == {
        "mean": {"delta": 1.0, "ci_low": 0.1, "ci_high": 2.0},
        "datasets": {"imdb": {"delta": 3.0}},
    }


def test_a_stats_file_without_a_headline_entry_is_an_error():
    with pytest.raises(headline.NoHeadlineError, match="HEADLINES"):
        headline.headline("a_new_stage", {"x": 1})


def test_write_stats_under_stats_writes_the_headline_beside_it(tmp_path):
    headline.write_stats(
        tmp_path / "stats" / "training" / "knowdist.json",
        {"trained": True, "last_loss": 1.5, "train_seconds": 12.0, "fingerprint": "abc"},
    )
    assert json.loads((tmp_path / "stats/training/knowdist.json").read_text())["fingerprint"] == "abc"
    assert json.loads((tmp_path / "metrics/training/knowdist.json").read_text()) == {"trained": True, "last_loss": 1.5}
    headline.write_stats(tmp_path / "run" / "metrics.json", {"anything": 1})  # ad-hoc: the dump only
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == ["metrics.json"]


def _expand(path: str, stage: dict) -> list[str]:
    if "foreach" not in stage:
        return [path]
    items = stage["foreach"]
    keys = items if isinstance(items, list) else list(items)
    return [path.replace("${item}", str(k)).replace("${key}", str(k)) for k in keys]


def test_every_stage_metrics_file_is_a_headline_of_a_stats_output():
    """dvc.yaml: each ``metrics/X.json`` of a stage has ``stats/X.json`` among its outs, and X
    has a headline entry -- so dvc exp show carries only curated numbers."""
    dvc = yaml.safe_load((ROOT / "dvc.yaml").read_text())
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    checked = 0
    for name, stage in dvc["stages"].items():
        body = stage.get("do", stage)
        if isinstance(stage.get("foreach"), str):  # ${sentibench.models}
            stage = {**stage, "foreach": params["sentibench"]["models"]}
        outs = {next(iter(o)) if isinstance(o, dict) else o for o in body.get("outs", [])}
        for m in body.get("metrics", []):
            path = next(iter(m)) if isinstance(m, dict) else m
            assert path.startswith("metrics/"), (name, path)
            assert "stats/" + path.removeprefix("metrics/") in outs, f"{name}: {path} has no stats/ output"
            for concrete in _expand(path, stage):
                headline.paths_for(concrete.removeprefix("metrics/").removesuffix(".json"))
                checked += 1
    assert checked >= 20
