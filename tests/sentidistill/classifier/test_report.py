"""classifier_report: encoders compared on exactly the LLM-evaluated examples (LLM scores
averaged over seeds), full-test tables, a missing LLM entry reported, the exported card."""

from __future__ import annotations

import json

import polars as pl

from sentidistill.classifier.evaluate import STUDENT, UNTRAINED
from sentidistill.classifier.report import build_comparison, run_report
from sentidistill.io import write_json, write_parquet
from sentidistill.schemas.classifier import PREDICTIONS


def _encoder_preds(path):
    rows = []
    for model, right in ((STUDENT, {"a", "b", "c", "d", "e"}), (UNTRAINED, {"a"})):
        for ex in "abcdef":
            gold = "positive" if ex in "ace" else "negative"
            pred = gold if ex in right else ("negative" if gold == "positive" else "positive")
            rows.append(
                {
                    "model": model,
                    "dataset": "sst2",
                    "example_id": ex,
                    "gold": gold,
                    "prediction": pred,
                    "probs": [0.5, 0.0, 0.5],
                    "dataset_scores": [0.5, 0.5],
                }
            )
    df = pl.DataFrame(rows)
    write_parquet(df, path, PREDICTIONS)
    return df


def _llm(eval_dir, entry, preds_by_seed):
    rows = []
    for seed, preds in preds_by_seed.items():
        for ex, pred in preds.items():
            gold = "positive" if ex in "ace" else "negative"
            rows.append(
                {"model": entry, "dataset": "sst2", "seed": seed, "example_id": ex, "prediction": pred, "gold": gold}
            )
    (eval_dir / entry).mkdir(parents=True)
    pl.DataFrame(rows).write_parquet(eval_dir / entry / "predictions.parquet")


def test_matched_examples_seed_means_and_missing(tmp_path):
    preds = _encoder_preds(tmp_path / "p.parquet")
    # the LLMs saw examples a, b (+ c for the teacher only): matched = {a, b}
    _llm(
        tmp_path / "ev",
        "teacher",
        {
            0: {"a": "positive", "b": "negative", "c": "positive"},
            1: {"a": "positive", "b": "positive", "c": "positive"},
        },
    )
    _llm(tmp_path / "ev", "base-student", {0: {"a": "positive", "b": "positive"}})
    comp = build_comparison(
        encoder_preds=preds,
        datasets=["sst2", "imdb"],
        compare=["teacher", "base-student", "gone"],
        eval_dir=tmp_path / "ev",
        student_name="mini",
    )
    assert comp["matched_n"] == {"sst2": 2} and comp["matched_datasets"] == ["sst2"]
    m = comp["matched"]
    # teacher: seed 0 perfect (100), seed 1 predicts positive twice (macro-F1 over {positive, negative} = 1/3)
    assert m["teacher (LLM, in-context)"]["sst2"]["f1"] == round((100 + 100 / 3) / 2, 4)
    assert m["teacher (LLM, in-context)"]["sst2"]["seeds"] == 2
    assert m["mini (encoder student)"]["sst2"] == {"f1": 100.0, "accuracy": 100.0, "n": 2}
    assert m["untrained encoder"]["sst2"]["n"] == 2
    assert comp["full"]["mini (encoder student)"]["sst2"]["n"] == 6
    assert "gone" in comp["missing"] and "sentibench_eval@gone" in comp["missing"]["gone"]


def test_run_report_writes_report_metrics_and_exported_card(tmp_path):
    _encoder_preds(tmp_path / "p.parquet")
    student = tmp_path / "student"
    student.mkdir()
    (student / "config.json").write_text("{}")
    summary = {
        "base_model": "all-minilm-l6-v2",
        "teacher": ["fake:t@0"],
        "labels": ["negative", "neutral", "positive"],
        "label_type": "hard",
        "git_revision": "abc",
        "data": {
            "teacher_rows": 10,
            "used": 8,
            "train": 6,
            "heldout": 2,
            "excluded_parse_failed": {"no_json": 2},
            "train_by_label": {"negative": 3, "positive": 3},
            "by_domain": {"imdb": 8},
            "truncated_texts": {"train": 0, "max_length": 128},
        },
        "hyperparameters": {"epochs": 1},
        "training": {
            "epochs_run": 1,
            "global_step": 2,
            "best_epoch": 1,
            "best_metric": "macro_f1",
            "early_stopped": False,
            "train_seconds": 1.0,
        },
        "heldout": {"n": 2, "macro_f1": 1.0, "accuracy": 1.0},
    }
    write_json(student / "training_summary.json", summary)
    write_json(
        tmp_path / "labels.json",
        {
            "rows": 10,
            "labeled": 8,
            "parse_failed": 2,
            "parse_errors": {"no_json": 2},
            "soft_labels": {"enabled": False},
            "throughput": {},
        },
    )
    comp = run_report(
        datasets=["sst2"],
        compare=["teacher"],
        student_name="mini",
        predictions_path=tmp_path / "p.parquet",
        eval_dir=tmp_path / "none",
        eval_metrics_path=tmp_path / "nope.json",
        labels_metrics_path=tmp_path / "labels.json",
        train_metrics_path=student / "training_summary.json",
        student_dir=student,
        report_path=tmp_path / "r.md",
        metrics_path=tmp_path / "c.json",
        export_dir=tmp_path / "export",
    )
    md = (tmp_path / "r.md").read_text()
    assert "_No LLM predictions to compare with._" in md and "`teacher`: no" in md
    assert "**failed to parse: 2** (no_json: 2)" in md and "| mini (encoder student) | 82.86" in md
    assert json.loads((tmp_path / "c.json").read_text())["teacher_parse_failed"] == 2 == comp["teacher_parse_failed"]
    card = (tmp_path / "export" / "README.md").read_text()
    assert "### Encoders on the full test splits" in card and (tmp_path / "export" / "config.json").is_file()
