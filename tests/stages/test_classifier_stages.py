"""The classifier stages through their CLIs: classifier_labels with a fake JSON teacher on a
synthetic corpus (the real teacher chat template); classifier_train -> classifier_eval ->
classifier_report with the real all-MiniLM-L6-v2 on a handful of rows (slow)."""

from __future__ import annotations

import json

import polars as pl
import pytest
import yaml

from sentidistill import paths
from sentidistill.io import read_parquet, write_parquet
from sentidistill.params import load_params, parse_section
from sentidistill.schemas.classifier import PREDICTIONS, labels_schema
from sentidistill.sentibench.ingest import IngestParams, ingest_all
from sentidistill.stages import classifier_eval, classifier_labels, classifier_report, classifier_train
from tests.sentidistill.classifier.conftest import LABELS, classifier_teacher, json_teacher, make_corpus  # noqa: F401


def _patch_sections(monkeypatch, module, overrides):
    """The stage's load_section, with some groups replaced (the rest from params.yaml)."""
    real = module.load_section

    def fake(section, model, *a, **k):
        if section in overrides:
            return parse_section(section, overrides[section], model)
        return real(section, model, *a, **k)

    monkeypatch.setattr(module, "load_section", fake)


def test_classifier_labels_stage(tmp_path, monkeypatch, json_teacher, tiny_model_paths):
    make_corpus(tmp_path)
    teacher = classifier_teacher(model="smollm2-135m-instruct", chat_template=True).model_dump()
    labels = {**load_params()["classifier"]["labels"], "n_texts": 8, "method": "cot_json"}  # the JSON teacher's path
    _patch_sections(monkeypatch, classifier_labels, {"teacher": teacher, "classifier.labels": labels})
    st = classifier_labels.main(
        [
            "--clean",
            str(tmp_path / "clean.parquet"),
            "--pool",
            str(tmp_path / "knowdist_pool.parquet"),
            "--out",
            str(tmp_path / "labels.parquet"),
            "--cache-dir",
            str(tmp_path / "cache"),
            "--metrics",
            str(tmp_path / "m.json"),
        ]
    )
    df = read_parquet(tmp_path / "labels.parquet", labels_schema(LABELS))
    assert df.height == 8 == st["rows"] == st["labeled"] + st["parse_failed"]
    assert df["user_message"].str.contains("TEXT: this").all()
    assert json_teacher.generated[0].startswith("<|im_start|>")  # the teacher saw its chat template
    assert json.loads((tmp_path / "m.json").read_text())["selection"]["selected"] == 8


@pytest.mark.slow
def test_train_eval_report_stages(tmp_path, monkeypatch):
    from tests.sentidistill.classifier.test_train import labels_table

    write_parquet(labels_table(), tmp_path / "labels.parquet", labels_schema(LABELS))
    train = {**load_params()["classifier"]["train"], "epochs": 2, "batch_size": 4, "max_length": 32, "threads": 1}
    _patch_sections(monkeypatch, classifier_train, {"classifier.train": train})
    s = classifier_train.main(
        [
            "--labels",
            str(tmp_path / "labels.parquet"),
            "--out",
            str(tmp_path / "student"),
            "--metrics",
            str(tmp_path / "train.json"),
            "--work-dir",
            str(tmp_path / "work"),
            "--live-dir",
            str(tmp_path / "dvclive"),
        ]
    )
    assert s["data"]["used"] == 16 and (tmp_path / "student" / "config.json").is_file()
    assert (tmp_path / "dvclive" / "plots" / "metrics" / "eval" / "macro_f1.tsv").is_file()  # DVCLive's log

    ev = {**load_params()["classifier"]["eval"], "max_test_examples": 6, "threads": 1}
    _patch_sections(monkeypatch, classifier_eval, {"classifier.eval": ev})
    bench = tmp_path / "sentibench"  # ingested here: a fresh clone has only the raw data, not the stage's output
    ingest_all(
        paths.require_pulled(paths.RAW_SENTIBENCH, "SentiBench"),
        bench,
        IngestParams(dev_size_absa=400, dev_seed=42),
        keys=list(ev["datasets"]),
    )
    m = classifier_eval.main(
        [
            "--model",
            str(tmp_path / "student"),
            "--data-dir",
            str(bench),
            "--out",
            str(tmp_path / "preds.parquet"),
            "--metrics",
            str(tmp_path / "eval.json"),
        ]
    )
    preds = read_parquet(tmp_path / "preds.parquet", PREDICTIONS)
    assert preds.height == 2 * 4 * 6 and set(m["models"]) == {"encoder-student", "untrained-encoder"}
    binary = preds.filter(pl.col("dataset") != "twitter")
    assert "neutral" not in set(binary["prediction"])  # binary datasets: argmax over the mapped labels only

    monkeypatch.setattr(classifier_report, "STATS", tmp_path)  # eval/labels/train metrics next to the test's
    (tmp_path / "classifier_eval.json").write_text((tmp_path / "eval.json").read_text())
    (tmp_path / "classifier_train.json").write_text((tmp_path / "train.json").read_text())
    comp = classifier_report.main(
        [
            "--predictions",
            str(tmp_path / "preds.parquet"),
            "--eval-dir",
            str(tmp_path / "llm"),
            "--student",
            str(tmp_path / "student"),
            "--report",
            str(tmp_path / "r.md"),
            "--metrics",
            str(tmp_path / "c.json"),
            "--export",
            str(tmp_path / "export"),
        ]
    )
    md = (tmp_path / "r.md").read_text()
    assert set(comp["missing"]) == {"teacher", "base-student", "sentidistill-student"}
    assert "Missing LLM evaluations" in md and "## Encoders on the test subsamples" in md
    assert "stats/classifier_labels.json not found" in md
    assert (tmp_path / "export" / "model.safetensors").is_file()
    card = (tmp_path / "export" / "README.md").read_text()
    assert "### Encoders on the test subsamples" in card
    meta = yaml.safe_load(card.split("---\n")[1])  # hub metadata from export.card
    assert (
        meta["base_model"] == "sentence-transformers/all-MiniLM-L6-v2" and meta["pipeline_tag"] == "text-classification"
    )
    results = meta["model-index"][0]["results"]
    assert {r["dataset"]["type"] for r in results} == {"sst2", "imdb", "yelp2", "twitter"}
