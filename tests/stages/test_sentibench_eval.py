"""End to end: ingest -> evaluate the real tiny student on every dataset -> report."""

import json

import polars as pl
import pytest

from schemas.sentibench_predictions import PredictionsSchema
from sentidistill import paths
from sentidistill.engines import EngineConfig
from sentidistill.sentibench.evaluate import EvalModel, EvalParams
from sentidistill.sentibench.ingest import IngestParams, ingest_all
from stages import sentibench_eval, sentibench_report

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def bench_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("sentibench")
    ingest_all(paths.require_pulled(paths.RAW_SENTIBENCH, "SentiBench"), out, IngestParams(dev_size_absa=400, dev_seed=42))
    return out


def test_stage_evaluates_every_dataset_and_accounts_for_every_example(bench_dir, tmp_path, tiny_model_paths):
    params = EvalParams(max_test_examples=2, max_test_examples_per_dataset={"imdb": 1, "yelp2": 1}, seeds=[0, 1], max_new_tokens=48)
    model = EvalModel(model=str(tiny_model_paths.hf_dir), engine=EngineConfig(backend="transformers"))
    kw = dict(data_dir=bench_dir, out_dir=tmp_path / "eval", metrics_dir=tmp_path / "metrics", checkpoint_dir=tmp_path / "ckpt")
    summary = sentibench_eval.run("tiny", params, model, **kw)

    preds = PredictionsSchema.validate(pl.read_parquet(tmp_path / "eval" / "tiny" / "predictions.parquet"))
    expected = (2 * 10 + 1 * 2) * 2  # examples per dataset x seeds
    assert preds.height == expected == summary["examples_scored"]
    assert set(preds["dataset"]) == set(params.datasets)
    assert summary["n_datasets"] == 12 and set(summary["categories"]) == {"BSA", "MSA", "FSA"}
    for key, d in summary["datasets"].items():
        assert sum(d["parse_status"].values()) == d["n_examples"] * 2, key  # scored + unparseable = all
        assert 0.0 <= d["f1"] <= 100.0
    cls = preds.filter(pl.col("scoring") != "generate")
    assert cls["label_scores"].null_count() == 0 and set(cls["parse_status"]) == {"ok"}
    metrics = json.loads((tmp_path / "metrics" / "tiny.json").read_text())
    assert metrics["avg"] == summary["avg"]

    # a rerun reuses every checkpointed (dataset, seed) chunk and gives the same predictions
    again = sentibench_eval.run("tiny", params, model, **kw)
    assert again["avg"] == summary["avg"]
    assert len(list((tmp_path / "ckpt" / "tiny").glob("*.parquet"))) == 12 * 2

    report = sentibench_report.build_report(["tiny"], sentibench_report.ReportParams(), tmp_path / "metrics", tmp_path / "reports")
    text = report.read_text()
    assert "| tiny |" in text and "sentibench_categories.png" in text
    assert (tmp_path / "reports" / "sentibench_categories.svg").exists()


def test_a_model_retrained_in_place_is_evaluated_again(bench_dir, tmp_path, tiny_model_paths):
    """Finished chunks are keyed by the weights, not the path: `dvc exp run -S training...`
    retrains models/student-icldist in place, and its SentiBench rows must be new."""
    import shutil

    from safetensors.torch import load_file, save_file

    hf = tmp_path / "student" / "hf"
    shutil.copytree(tiny_model_paths.hf_dir, hf)
    params = EvalParams(datasets=["sst2"], max_test_examples=4, seeds=[0])
    model = EvalModel(model=str(hf), engine=EngineConfig(backend="transformers"))
    kw = dict(data_dir=bench_dir, out_dir=tmp_path / "eval", metrics_dir=tmp_path / "metrics", checkpoint_dir=tmp_path / "ckpt")
    sentibench_eval.run("student", params, model, **kw)
    before = pl.read_parquet(tmp_path / "eval" / "student" / "predictions.parquet")["label_scores"].to_list()

    weights = hf / "model.safetensors"
    tensors = load_file(weights)
    name = next(k for k in tensors if "embed" in k)
    tensors[name] = tensors[name] * 0.5
    save_file(tensors, weights, metadata={"format": "pt"})
    sentibench_eval.run("student", params, model, **kw)
    after = pl.read_parquet(tmp_path / "eval" / "student" / "predictions.parquet")["label_scores"].to_list()
    assert after != before
    assert len(list((tmp_path / "ckpt" / "student").glob("sst2-seed0-*.parquet"))) == 2
