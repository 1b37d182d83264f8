"""End to end: ingest -> evaluate the real tiny student on every dataset -> report."""

import json

import polars as pl
import pytest

from sentidistill import paths
from sentidistill.engines import EngineConfig
from sentidistill.schemas.sentibench_predictions import PredictionsSchema
from sentidistill.sentibench.evaluate import EvalModel, EvalParams
from sentidistill.sentibench.ingest import IngestParams, ingest_all
from sentidistill.sentibench.report import ReportParams, build_report
from sentidistill.sentibench.run import evaluate_entry

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def bench_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("sentibench")
    ingest_all(
        paths.require_pulled(paths.RAW_SENTIBENCH, "SentiBench"), out, IngestParams(dev_size_absa=400, dev_seed=42)
    )
    return out


def test_stage_evaluates_every_dataset_and_accounts_for_every_example(bench_dir, tmp_path, tiny_model_paths):
    params = EvalParams(
        max_test_examples=2, max_test_examples_per_dataset={"imdb": 1, "yelp2": 1}, seeds=[0, 1], max_new_tokens=48
    )
    model = EvalModel(model=str(tiny_model_paths.hf_dir), engine=EngineConfig(backend="transformers"))
    kw = dict(
        data_dir=bench_dir,
        out_dir=tmp_path / "eval",
        metrics_dir=tmp_path / "metrics",
        checkpoint_dir=tmp_path / "ckpt",
    )
    summary = evaluate_entry("tiny", params, model, **kw)

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
    again = evaluate_entry("tiny", params, model, **kw)
    assert again["avg"] == summary["avg"]
    assert len(list((tmp_path / "ckpt" / "tiny").glob("*.parquet"))) == 12 * 2

    report = build_report(["tiny"], ReportParams(), tmp_path / "metrics", tmp_path / "reports")
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
    kw = dict(
        data_dir=bench_dir,
        out_dir=tmp_path / "eval",
        metrics_dir=tmp_path / "metrics",
        checkpoint_dir=tmp_path / "ckpt",
    )
    evaluate_entry("student", params, model, **kw)
    before = pl.read_parquet(tmp_path / "eval" / "student" / "predictions.parquet")["label_scores"].to_list()

    weights = hf / "model.safetensors"
    tensors = load_file(weights)
    name = next(k for k in tensors if "embed" in k)
    tensors[name] = tensors[name] * 0.5
    save_file(tensors, weights, metadata={"format": "pt"})
    evaluate_entry("student", params, model, **kw)
    after = pl.read_parquet(tmp_path / "eval" / "student" / "predictions.parquet")["label_scores"].to_list()
    assert after != before
    assert len(list((tmp_path / "ckpt" / "student").glob("sst2-seed0-*.parquet"))) == 2


def _strings(value):
    if isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)
    elif isinstance(value, str):
        yield value


def test_switching_the_parser_rescores_finished_chunks_and_metrics_carry_provenance(
    bench_dir, tmp_path, tiny_model_paths
):
    """`parser` only changes how raw outputs are read: no generation is redone; the metrics
    JSON says what produced each number and holds no path of this machine."""
    from sentidistill.sentibench import official

    params = EvalParams(datasets=["sst2", "acsa"], max_test_examples=3, seeds=[0], max_new_tokens=48)
    model = EvalModel(model=str(tiny_model_paths.hf_dir), engine=EngineConfig(backend="transformers"))
    kw = dict(
        data_dir=bench_dir,
        out_dir=tmp_path / "eval",
        metrics_dir=tmp_path / "metrics",
        checkpoint_dir=tmp_path / "ckpt",
    )
    strict = evaluate_entry("tiny", params, model, **kw)
    strict_preds = pl.read_parquet(tmp_path / "eval" / "tiny" / "predictions.parquet")
    chunks = sorted(p.name for p in (tmp_path / "ckpt" / "tiny").glob("*.parquet"))

    lenient = evaluate_entry("tiny", params.model_copy(update={"parser": "lenient"}), model, **kw)
    lenient_preds = pl.read_parquet(tmp_path / "eval" / "tiny" / "predictions.parquet")
    assert sorted(p.name for p in (tmp_path / "ckpt" / "tiny").glob("*.parquet")) == chunks  # nothing regenerated
    assert strict_preds["raw_output"].to_list() == lenient_preds["raw_output"].to_list()
    assert strict["datasets"]["acsa"]["parser"] == "official" and lenient["datasets"]["acsa"]["parser"] == "lenient"
    assert strict["datasets"]["sst2"] == lenient["datasets"]["sst2"]  # classification: label scores either way

    acsa = strict_preds.filter(pl.col("dataset") == "acsa")
    for row in acsa.iter_rows(named=True):  # the official prediction of each raw output
        assert row["parse_status"] in {s.value for s in official.ParseStatus}
        items = json.loads(row["prediction"])
        assert all(t is None or (isinstance(t, list) and all(isinstance(x, str) for x in t)) for t in items)

    metrics = json.loads((tmp_path / "metrics" / "tiny.json").read_text())
    cfg = metrics["config"]
    assert cfg["parser"] == "lenient"  # the last run's
    assert cfg["shots"] == {"sst2": 4, "acsa": 4} and cfg["n_examples"] == {"sst2": 3, "acsa": 3}
    assert cfg["scoring"] == {"sst2": "first_token", "acsa": "generate"} and cfg["prompt_text"] == "code"
    assert cfg["demo_split"] == "dev" and cfg["seeds"] == [0]
    prov = metrics["provenance"]
    assert len(prov["git_revision"]) == 40 and set(prov["versions"]) >= {"torch", "transformers", "llama-cpp-python"}
    assert metrics["engine"]["weights"] and metrics["engine"]["dtype"]
    root = str(paths.ROOT)
    assert not [s for s in _strings(metrics) if s.startswith(root)]


def test_a_damaged_checkpoint_is_recomputed_and_counted_in_the_metrics(tmp_path, tiny_model_paths):
    """The count appears in the metrics only when a chunk was set aside: a clean run's metrics
    keep exactly their keys."""
    data_dir = tmp_path / "bench"
    ingest_all(
        paths.require_pulled(paths.RAW_SENTIBENCH, "SentiBench"),
        data_dir,
        IngestParams(dev_size_absa=400, dev_seed=42),
        keys=["sst2"],
    )
    params = EvalParams(datasets=["sst2"], max_test_examples=3, seeds=[0, 1])
    model = EvalModel(model=str(tiny_model_paths.hf_dir), engine=EngineConfig(backend="transformers"))
    kw = dict(
        data_dir=data_dir, out_dir=tmp_path / "eval", metrics_dir=tmp_path / "metrics", checkpoint_dir=tmp_path / "ckpt"
    )
    clean = evaluate_entry("tiny", params, model, **kw)
    assert "corrupt_chunks_set_aside" not in clean
    before = pl.read_parquet(tmp_path / "eval" / "tiny" / "predictions.parquet")

    chunks = sorted((tmp_path / "ckpt" / "tiny").glob("*.parquet"))
    assert len(chunks) == 2
    chunks[0].write_bytes(chunks[0].read_bytes()[:100])  # truncated by a full disk under an older writer
    damaged = evaluate_entry("tiny", params, model, **kw)
    assert damaged["corrupt_chunks_set_aside"] == 1
    assert json.loads((tmp_path / "metrics" / "tiny.json").read_text())["corrupt_chunks_set_aside"] == 1
    assert pl.read_parquet(tmp_path / "eval" / "tiny" / "predictions.parquet").equals(before)
    assert damaged["avg"] == clean["avg"]
    assert len(list((tmp_path / "ckpt" / "tiny" / "corrupt").iterdir())) == 1
    assert "corrupt_chunks_set_aside" not in evaluate_entry("tiny", params, model, **kw)
