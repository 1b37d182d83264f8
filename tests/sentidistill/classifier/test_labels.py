"""Stage logic of classifier_labels with a fake JSON-answering teacher: disjoint balanced
sample, every row kept (parse failures with raw output and reason), soft labels cached."""

from __future__ import annotations

import json

import polars as pl
import pytest

from sentidistill.classifier.labels import run_labels, select_texts
from sentidistill.classifier.soft import SoftLabelsUnavailable
from sentidistill.io import read_parquet
from sentidistill.schemas.classifier import labels_schema
from sentidistill.teacher.resolve import resolve_teacher
from tests.sentidistill.classifier.conftest import LABELS, JsonTeacher, classifier_teacher, label_params, make_corpus
from tests.sentidistill.teacher.conftest import IDENTITY


def _run(tmp_path, params, **kw):
    return run_labels(
        resolve_teacher(classifier_teacher(), identity=IDENTITY, templater=False),
        params,
        clean_path=tmp_path / "clean.parquet",
        pool_paths=[tmp_path / "knowdist_pool.parquet"],
        out_path=tmp_path / "labels.parquet",
        cache_root=tmp_path / "cache",
        metrics_path=tmp_path / "m.json",
        engine_factory=JsonTeacher,
        **kw,
    )


def test_select_texts_is_balanced_disjoint_and_accounted(tmp_path):
    clean = make_corpus(tmp_path)
    pool = clean.head(4)
    picked, st = select_texts(clean, [pool], label_params(n_texts=12, max_chars=28))
    assert picked.height == 12 and not set(picked["id"]) & set(pool["id"])
    assert sorted(st["by_domain"].values()) == [3, 3, 3, 3]
    assert st["in_other_pools"] == 4 and st["too_long"] > 0
    assert picked["rank"].to_list() == list(range(12))
    again, _ = select_texts(clean, [pool], label_params(n_texts=12, max_chars=28))
    assert again.equals(picked)  # seeded
    with pytest.raises(ValueError, match="lower n_texts"):
        select_texts(clean, [pool], label_params(n_texts=999))


def test_run_labels_keeps_every_row_and_counts_failures(tmp_path, json_teacher):
    make_corpus(tmp_path)
    st = _run(tmp_path, label_params())
    df = read_parquet(tmp_path / "labels.parquet", labels_schema(LABELS))
    assert df.height == 20 == st["rows"] == st["labeled"] + st["parse_failed"]
    n = {w: int(df["text"].str.contains(w).sum()) for w in ("awful", "great", "sarcasm", "riddle", "plain")}
    assert st["parse_errors"]["unknown_label"] == n["sarcasm"] and st["parse_errors"]["no_json"] == n["riddle"]
    bad = df.filter(pl.col("parse_error").is_not_null())
    assert bad["response"].str.len_chars().min() > 0 and bad["label"].null_count() == bad.height
    assert set(bad["raw_label"].drop_nulls()) == {"sarcastic"}
    assert st["labels"] == {"negative": n["awful"], "neutral": n["plain"], "positive": n["great"]}
    assert st["parse_methods"] == {"json": n["awful"] + n["great"], "lenient": n["plain"]}
    # soft labels: every labeled row has probabilities, none of the failed ones
    assert df.filter(pl.col("label").is_not_null())["soft_probs"].null_count() == 0
    assert bad["soft_probs"].null_count() == bad.height
    assert st["soft_labels"]["scored"] == st["labeled"] and st["soft_labels"]["cache_hits"] == 0
    for p in JsonTeacher.scored:  # scored right where the label value starts
        assert p.endswith('"label": "') or p.endswith("'label': '")
    assert json.loads((tmp_path / "m.json").read_text())["rows"] == 20


def test_rerun_takes_answers_and_soft_labels_from_the_cache(tmp_path, json_teacher):
    make_corpus(tmp_path)
    _run(tmp_path, label_params())
    first = pl.read_parquet(tmp_path / "labels.parquet")
    JsonTeacher.generated.clear()
    JsonTeacher.scored.clear()
    st = _run(tmp_path, label_params())
    assert JsonTeacher.generated == [] and JsonTeacher.scored == []
    assert st["teacher"]["cache_hits"] == 20 and st["soft_labels"]["cache_hits"] == st["labeled"]
    assert pl.read_parquet(tmp_path / "labels.parquet").equals(first)  # the same file whatever the history


def test_hard_labels_only_and_openai_refusal(tmp_path, json_teacher):
    make_corpus(tmp_path)
    st = _run(tmp_path, label_params(soft_labels=False))
    assert st["soft_labels"] == {"enabled": False} and JsonTeacher.scored == []
    assert pl.read_parquet(tmp_path / "labels.parquet")["soft_probs"].null_count() == 20
    with pytest.raises(SoftLabelsUnavailable, match="soft_labels: false"):
        openai = resolve_teacher(classifier_teacher(engine={"backend": "openai"}), identity=IDENTITY, templater=False)
        run_labels(
            openai,
            label_params(),
            clean_path=tmp_path / "clean.parquet",
            pool_paths=[],
            out_path=tmp_path / "x.parquet",
            cache_root=tmp_path / "c",
            metrics_path=tmp_path / "x.json",
        )


def test_method_score_labels_every_text_with_its_probabilities(tmp_path, json_teacher):
    make_corpus(tmp_path)
    st = _run(tmp_path, label_params(method="score", soft_labels=False))
    df = read_parquet(tmp_path / "labels.parquet", labels_schema(LABELS))
    assert df.height == st["rows"] == st["labeled"] == 20 and st["parse_failed"] == 0
    assert set(df["parse_method"]) == {"label_scores"} and df["rationale"].is_null().all()
    assert all(LABELS[max(range(3), key=p.__getitem__)] == lab for p, lab in zip(df["soft_probs"], df["label"]))
    assert not json_teacher.generated and json_teacher.scored  # scored, never decoded
    assert all(p.endswith("\nOutput:") and "['negative', 'neutral', 'positive']" in p for p in json_teacher.scored)
    json_teacher.scored.clear()
    _run(tmp_path, label_params(method="score", soft_labels=False))
    assert not json_teacher.scored  # from the cache
