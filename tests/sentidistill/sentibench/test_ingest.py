"""Ingest on tiny hand-made raw files: gold builders, errors naming the row, the dev split."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from sentidistill.schemas.sentibench_datasets import DATASETS
from sentidistill.sentibench.ingest import (
    IngestError,
    IngestParams,
    acsa_gold,
    asqp_gold,
    atsa_gold,
    carve_dev,
    ingest_all,
    ingest_dataset,
    load_raw_json,
    ssa_gold,
    ssa_opinions,
)

PARAMS = IngestParams(dev_size_absa=2, dev_seed=42)


def write_raw(root: Path, rel: str, rows: list[dict], bom: bool = True) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + json.dumps(rows).encode("utf-8"))


def imdb_raw(root: Path, test_rows: list[dict] | None = None) -> None:
    write_raw(root, "sc/imdb/train.json", [{"sentence": "Good.", "label": "positive"}] * 3)
    write_raw(root, "sc/imdb/val.json", [{"sentence": "Bad.", "label": "negative"}], bom=False)
    write_raw(root, "sc/imdb/test.json", test_rows or [{"sentence": "Fine.", "label": "positive"}])


def test_bom_and_no_bom_both_read(tmp_path):
    imdb_raw(tmp_path)
    df = ingest_dataset(DATASETS["imdb"], tmp_path, PARAMS)
    assert df["split"].to_list() == ["train"] * 3 + ["dev", "test"]
    assert df["example_id"].to_list() == ["train-00000", "train-00001", "train-00002", "val-00000", "test-00000"]
    assert df.filter(pl.col("split") == "dev")["label_id"].to_list() == [0]


@pytest.mark.parametrize(
    ("bad_row", "message"),
    [
        ({"sentence": "Fine."}, "missing label"),
        ({"sentence": "Fine.", "label": "neutral"}, "label 'neutral' is not one of"),
        ({"sentence": "   ", "label": "positive"}, "empty or missing text"),
    ],
)
def test_malformed_row_names_dataset_split_and_row(tmp_path, bad_row, message):
    imdb_raw(tmp_path, [{"sentence": "Fine.", "label": "positive"}, bad_row])
    with pytest.raises(IngestError, match=message) as exc:
        ingest_dataset(DATASETS["imdb"], tmp_path, PARAMS)
    assert "imdb (sc/imdb/test.json) split=test row=1" in str(exc.value)


def test_missing_raw_file_says_how_to_get_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="dvc pull"):
        load_raw_json(tmp_path / "nope.json")


def test_labels_are_lower_cased_and_pstance_label_text_names_the_target(tmp_path):
    rows = [{"sentence": "Feel the Bern", "target": "Bernie Sanders", "label": "FAVOR"}]
    for f in ("train", "val", "test"):
        write_raw(tmp_path, f"multifaced/pstance/{f}.json", rows)
    df = ingest_dataset(DATASETS["pstance"], tmp_path, PARAMS)
    assert df["label"].unique().to_list() == ["favor"]
    assert df["label_text"][0] == "favor (opinion towards 'Bernie Sanders')"


def aspect(target, cat, pol, b, e):
    return {"target": target, "category": cat, "polarity": pol, "from": str(b), "to": str(e)}


def test_atsa_gold_skips_null_targets_dedups_and_sorts_numerically():
    row = {
        "sentence": "The food was ok, but service in the bar and service at the table were slow.",
        "aspects": [
            aspect("service", "SERVICE#GENERAL", "negative", 44, 51),
            aspect("food", "FOOD#QUALITY", "neutral", 4, 8),
            aspect("service", "SERVICE#GENERAL", "negative", 21, 28),
            aspect("service", "SERVICE#GENERAL", "negative", 21, 28),  # exact duplicate
            aspect("NULL", "RESTAURANT#GENERAL", "negative", 0, 0),
            aspect(None, "AMBIENCE#GENERAL", "negative", 0, 0),
        ],
    }
    # numeric order 4 < 21 < 44 (the string order "21" < "4" < "44" would not be text order)
    assert atsa_gold(row, "w") == [("food", "neutral"), ("service", "negative"), ("service", "negative")]
    assert acsa_gold(row, "w") == [
        ("service general", "negative"),
        ("food quality", "neutral"),
        ("restaurant general", "negative"),
        ("ambience general", "negative"),
    ]


def test_asqp_gold_is_category_first():
    row = {
        "quards": [{"aspect": "place", "category": "restaurant general", "sentiment": "positive", "opinion": "try"}] * 2
    }
    assert asqp_gold(row, "w") == [("restaurant general", "place", "try", "positive")]


def test_ssa_gold_joins_spans_and_uses_null():
    row = {
        "sentence": "I can 't explain in words how grand this place looks .",
        "opinions": [
            {
                "Source": [["I"], ["0:1"]],
                "Target": [["this place"], ["36:46"]],
                "Polar_expression": [["how grand", "looks"], ["26:35", "47:52"]],
                "Polarity": "Positive",
                "Intensity": "Standard",
            },
        ],
    }
    ops = ssa_opinions(row, "w")
    assert ops[0]["expression_spans"] == ["26:35", "47:52"] and ops[0]["polarity"] == "positive"
    assert ssa_gold(ops) == [("I", "this place", "how grand AND looks", "positive")]
    assert ssa_gold([]) == [("NULL", "NULL", "NULL", "NULL")]
    row["opinions"][0]["Target"] = [["this place"], ["35:45"]]
    with pytest.raises(IngestError, match="span 35:45 is"):
        ssa_opinions(row, "w")


def test_carve_dev_is_seeded_and_order_independent():
    ids = [f"id{i}" for i in range(100)]
    dev = carve_dev(ids, 20, 42)
    assert len(dev) == 20 and dev == carve_dev(list(reversed(ids)), 20, 42)
    assert dev != carve_dev(ids, 20, 43)
    with pytest.raises(ValueError, match="smaller"):
        carve_dev(ids, 100, 42)


def test_atsa_and_acsa_get_the_same_dev_rows(tmp_path):
    rows = [
        {
            "ID": f"r:{i}",
            "sentence": f"Nice pizza {i}.",
            "aspects": [aspect("pizza", "FOOD#QUALITY", "positive", 5, 10)],
        }
        for i in range(6)
    ]
    for d in ("atsa_rest16", "acsa_rest16"):
        write_raw(tmp_path, f"absa/{d}/train.json", rows)
        write_raw(tmp_path, f"absa/{d}/test.json", rows[:1])
    stats = ingest_all(tmp_path, tmp_path / "out", PARAMS, keys=["atsa", "acsa"])
    assert stats["datasets"]["atsa"]["splits"] == {"train": 4, "dev": 2, "test": 1}
    assert stats["rows_in"] == stats["rows_kept"] == 14 and stats["rows_rejected"] == 0
    dev = {
        k: pl.read_parquet(tmp_path / "out" / f"{k}.parquet").filter(pl.col("split") == "dev") for k in ("atsa", "acsa")
    }
    assert dev["atsa"]["source_id"].to_list() == dev["acsa"]["source_id"].to_list()
    assert dev["atsa"]["label_text"][0] == "[('pizza', 'positive')]"
    assert dev["acsa"]["label_text"][0] == "[('food quality', 'positive')]"
