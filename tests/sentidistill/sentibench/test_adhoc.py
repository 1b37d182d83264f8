"""`sentidistill eval`: SentiBench on any model outside DVC, through the stage's own code."""

from __future__ import annotations

import json

import polars as pl
import pytest

from sentidistill.cli import main as cli_main
from sentidistill.schemas.sentibench_predictions import PredictionsSchema
from sentidistill.sentibench.adhoc import engine_for, name_for


def test_engine_and_name_follow_the_model_reference():
    assert engine_for("x/model.gguf", None, None).backend == "llamacpp"
    assert engine_for("org/name", None, 2).backend == "transformers" and engine_for("org/name", None, 2).threads == 2
    assert engine_for("org/name", None, None).dtype == "float32"
    assert name_for("models/student-icldist/") == "student-icldist" and name_for("a/b c.gguf") == "b-c"


def test_a_missing_model_file_is_one_line(tmp_path, capsys):
    assert cli_main(["eval", "--model", str(tmp_path / "none.gguf"), "--out", str(tmp_path)]) == 2
    assert "no such file" in capsys.readouterr().err


@pytest.mark.slow
def test_eval_any_gguf_writes_the_stage_formats(tmp_path, tiny_model_paths, capsys, monkeypatch):
    """Also before the pipeline ran: data/sentibench absent, the raw benchmark is ingested on the side."""
    import sentidistill.paths

    monkeypatch.setattr(sentidistill.paths, "SENTIBENCH_DATA", tmp_path / "not-ingested")
    out = tmp_path / "runs"
    args = [
        "eval",
        "--model",
        str(tiny_model_paths.gguf_path),
        "--datasets",
        "sst2",
        "twitter",
        "--n",
        "6",
        "--shots",
        "1",
        "--seeds",
        "0",
        "--partition",
        "all",
        "--threads",
        "2",
        "--out",
        str(out),
        "--name",
        "tiny",
    ]
    assert cli_main(args) == 0
    preds = pl.read_parquet(out / "tiny" / "predictions.parquet")
    PredictionsSchema.validate(preds)
    assert preds.group_by("dataset").len().sort("dataset")["len"].to_list() == [6, 6]
    metrics = json.loads((out / "tiny" / "metrics.json").read_text())
    assert metrics["model"] == "tiny" and set(metrics["datasets"]) == {"sst2", "twitter"}
    assert metrics["config"]["shots"] == {"sst2": 1, "twitter": 1}
    assert "avg" in capsys.readouterr().out
    assert sorted(p.name for p in (out / ".sentibench").glob("*.parquet")) == ["sst2.parquet", "twitter.parquet"]
