"""GGUF export with llama.cpp's own converter and quantizer: the files load in llama-cpp-python
and answer SentiBench like the transformers weights they came from."""

from __future__ import annotations

import polars as pl
import pytest

from sentidistill import paths
from sentidistill.engines import EngineConfig
from sentidistill.models import gguf
from sentidistill.sentibench.evaluate import EvalModel, EvalParams
from sentidistill.sentibench.ingest import IngestParams, ingest_all
from sentidistill.sentibench.run import evaluate_entry

SHORT = ["sst2", "twitter", "irony18", "emotion20", "pstance", "intimacy"]


def test_modelfile_sends_raw_prompts_to_a_student_trained_without_a_chat_template():
    text = gguf.modelfile("s-q8_0.gguf", chat_template=False, num_ctx=4096, num_predict=16)
    assert text.startswith("FROM ./s-q8_0.gguf\n") and 'TEMPLATE """{{ .Prompt }}"""' in text
    assert "PARAMETER temperature 0" in text and "PARAMETER num_ctx 4096" in text
    assert "TEMPLATE" not in gguf.modelfile("s.gguf", chat_template=True, num_ctx=2048, num_predict=8).split("#")[0]


def test_an_unexported_ollama_variant_is_refused_before_any_work(tmp_path):
    with pytest.raises(gguf.GGUFError, match="ollama_variant"):
        gguf.export_gguf(
            tmp_path,
            tmp_path / "out",
            "m",
            gguf.GGUFParams(quantized=["q4_k_m"], ollama_variant="q8_0"),
            chat_template=False,
        )


def test_a_converter_folder_without_the_script_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setenv(gguf.CONVERTER_ENV, str(tmp_path))
    with pytest.raises(gguf.GGUFError, match="llama.cpp checkout"):
        gguf.converter_dir()


@pytest.mark.slow
def test_exported_q8_0_scores_sentibench_like_the_transformers_model(tmp_path, tiny_model_paths):
    out = tmp_path / "gguf"
    entry = gguf.export_gguf(
        tiny_model_paths.hf_dir, out, "student", gguf.GGUFParams(quantized=["q8_0"]), chat_template=False
    )
    assert set(entry["files"]) == {"f16", "q8_0"} and (out / gguf.MODELFILE).is_file()
    assert entry["files"]["q8_0"]["bytes"] < entry["files"]["f16"]["bytes"]
    bench = tmp_path / "sentibench"
    ingest_all(
        paths.require_pulled(paths.RAW_SENTIBENCH, "SentiBench"), bench, IngestParams(dev_size_absa=400, dev_seed=42)
    )
    params = EvalParams(datasets=SHORT, max_test_examples=5, seeds=[0])
    kw = dict(data_dir=bench, out_dir=tmp_path / "eval", metrics_dir=tmp_path / "m", checkpoint_dir=None)
    runs = {
        "hf": EvalModel(
            model=str(tiny_model_paths.hf_dir), engine=EngineConfig(backend="transformers", dtype="float32")
        ),
        "q8": EvalModel(model=str(out / entry["files"]["q8_0"]["path"]), engine=EngineConfig(backend="llamacpp")),
    }
    preds = {}
    for name, model in runs.items():
        evaluate_entry(name, params, model, **kw)
        preds[name] = pl.read_parquet(tmp_path / "eval" / name / "predictions.parquet")
    key = ["dataset", "seed", "example_id"]
    both = (
        preds["hf"].select(*key, "prediction").join(preds["q8"].select(*key, pl.col("prediction").alias("q8")), on=key)
    )
    assert both.height == 30
    agreement = (both["prediction"] == both["q8"]).mean()
    assert agreement >= 0.95, both.filter(pl.col("prediction") != pl.col("q8"))
