"""The batch prediction entry point on bad input: empty lines and texts, missing text field,
malformed JSONL, mixed types -- a clear error or a kept row with a reason, never a lost row."""

from __future__ import annotations

import json

import numpy as np
import polars as pl
import pytest

from sentidistill.classifier.predict import (
    BadInputError,
    MissingTextFieldError,
    main,
    predict_file,
    predict_frame,
)


class FakeClassifier:
    labels = ["negative", "neutral", "positive"]

    def __init__(self):
        self.seen = []

    def predict_proba(self, texts, *, batch_size=32, desc=None):
        self.seen.extend(texts)
        out = np.full((len(texts), 3), 0.1, dtype=np.float32)
        for i, t in enumerate(texts):
            out[i, 2 if "good" in t else 0] = 0.8
        return out


def _jsonl(path, lines):
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_jsonl_bad_lines_are_kept_with_reasons(tmp_path):
    src = _jsonl(
        tmp_path / "in.jsonl",
        [
            '{"id": 1, "text": "good food"}',
            "",
            '{"id": 2, "text": "   "}',
            "{not json",
            '{"id": 3}',
            '{"id": 4, "text": 42}',
            "   ",
            '["a list"]',
            '{"id": 5, "text": "bad service", "extra": {"nested": [1, 2]}}',
        ],
    )
    clf = FakeClassifier()
    s = predict_file("fake", src, tmp_path / "out.jsonl", classifier=clf)
    rows = [json.loads(x) for x in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert len(rows) == s["rows"] == 7 and s["blank_lines"] == 2 and s["bad_lines"] == 2
    assert [r["input_line"] for r in rows] == [1, 3, 4, 5, 6, 8, 9]
    assert [r["pred_error"] for r in rows][1:6] == [
        "empty_text",
        rows[2]["pred_error"],
        "missing_text",
        "non_string_text",
        rows[5]["pred_error"],
    ]
    assert rows[2]["pred_error"].startswith("bad_json") and rows[2]["input_raw"] == "{not json"
    assert rows[5]["pred_error"].startswith("bad_json") and "not an object" in rows[5]["pred_error"]
    assert (rows[0]["pred_label"], rows[6]["pred_label"]) == ("positive", "negative")
    assert rows[0]["pred_prob_positive"] == pytest.approx(0.8) and rows[0]["id"] == 1
    assert rows[6]["extra"] == {"nested": [1, 2]}  # original columns survive
    assert all(r["pred_label"] is None for r in rows[1:6])
    assert s["errors"] == {"bad_json": 2, "empty_text": 1, "missing_text": 1, "non_string_text": 1}
    assert clf.seen == ["good food", "bad service"]  # nothing unusable reaches the model


def test_strict_mode_names_the_line(tmp_path):
    src = _jsonl(tmp_path / "in.jsonl", ['{"text": "ok"}', "", "{oops"])
    with pytest.raises(BadInputError, match=r"in.jsonl:3"):
        predict_file("fake", src, tmp_path / "o.jsonl", strict=True, classifier=FakeClassifier())


def test_missing_text_field_is_a_clear_error_before_loading_the_model(tmp_path, capsys):
    src = _jsonl(tmp_path / "in.jsonl", ['{"review": "good", "stars": 5}'])
    with pytest.raises(MissingTextFieldError, match=r"no field 'text'.*\['review', 'stars'\].*--text-field"):
        predict_file("no-such-model", src, tmp_path / "o.jsonl")  # would fail loading if it got that far
    with pytest.raises(SystemExit, match="available fields"):
        main(["--model", "no-such-model", "--input", str(src), "--output", str(tmp_path / "o.jsonl")])
    csv = tmp_path / "in.csv"
    pl.DataFrame({"review": ["good"]}).write_csv(csv)
    with pytest.raises(MissingTextFieldError, match="review"):
        predict_file("x", csv, tmp_path / "o.csv")


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_csv_and_parquet_round_trip_every_row(tmp_path, fmt):
    df = pl.DataFrame({"review": ["good one", "", None, "awful"], "stars": [5, 3, 2, 1]})
    src = tmp_path / f"in.{fmt}"
    df.write_csv(src) if fmt == "csv" else df.write_parquet(src)
    out = tmp_path / f"out.{fmt}"
    s = predict_file("fake", src, out, text_field="review", classifier=FakeClassifier())
    got = pl.read_csv(out) if fmt == "csv" else pl.read_parquet(out)
    assert got.height == df.height == s["rows"] and got["stars"].to_list() == [5, 3, 2, 1]
    assert got["pred_label"].to_list() == ["positive", None, None, "negative"]
    assert got["pred_error"].to_list()[1:3] == ["empty_text", "missing_text"]


def test_all_lines_malformed_or_no_records(tmp_path):
    src = _jsonl(tmp_path / "in.jsonl", ["{bad", "{worse"])
    s = predict_file("fake", src, tmp_path / "o.jsonl", classifier=FakeClassifier())
    assert s["rows"] == 2 and s["errors"] == {"bad_json": 2}
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n\n")
    s = predict_file("fake", empty, tmp_path / "o2.jsonl", classifier=FakeClassifier())
    assert s["rows"] == 0 and s["blank_lines"] == 2


def test_output_column_clash_and_unknown_format(tmp_path):
    df = pl.DataFrame({"text": ["good"], "pred_label": ["x"]})
    with pytest.raises(BadInputError, match="--prefix"):
        predict_frame(df, FakeClassifier())
    out, _ = predict_frame(df, FakeClassifier(), prefix="p2_")
    assert out["pred_label"].to_list() == ["x"] and out["p2_label"].to_list() == ["positive"]
    (tmp_path / "in.txt").write_text("hello")
    with pytest.raises(BadInputError, match="unsupported"):
        predict_file("fake", tmp_path / "in.txt", tmp_path / "o.jsonl", classifier=FakeClassifier())


def test_a_missing_local_model_names_the_stage_that_builds_it(tmp_path, monkeypatch):
    """`predict --model models/classifier-student` before the pipeline built it said nothing useful
    (80 lines of hub retries); now one line with the stage to run. Hub ids still go to the hub."""
    import yaml

    from sentidistill.classifier.predict import missing_local_model

    (tmp_path / "models").mkdir()
    (tmp_path / "dvc.yaml").write_text(
        yaml.safe_dump({"stages": {"classifier_train": {"cmd": "x", "outs": ["models/classifier-student"]}}})
    )
    monkeypatch.chdir(tmp_path)
    msg = missing_local_model("models/classifier-student", tmp_path)
    assert msg == "model folder models/classifier-student does not exist: build it with `dvc repro classifier_train`"
    assert "check the path" in missing_local_model(str(tmp_path / "elsewhere" / "m"), tmp_path)
    assert missing_local_model("sentence-transformers/all-MiniLM-L6-v2", tmp_path) is None  # a hub id
    (tmp_path / "models" / "classifier-student").mkdir()
    assert missing_local_model("models/classifier-student", tmp_path) is None
