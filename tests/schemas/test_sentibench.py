"""The SentiBench parquet schemas reject malformed rows."""

from __future__ import annotations

import json

import pandera.errors
import polars as pl
import pytest

from sentidistill.schemas.sentibench import SCHEMAS, frame_dtypes, schema_for
from sentidistill.schemas.sentibench_datasets import DATASETS


def frame(key: str, rows: list[dict]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=frame_dtypes(DATASETS[key]), strict=False)


def imdb_row(**kw) -> dict:
    row = {
        "dataset": "imdb",
        "split": "test",
        "example_id": "test-00000",
        "source_id": None,
        "raw_split": "test",
        "row": 0,
        "sentence": "A fine film.",
        "label_text": "positive",
        "label_text_code": "positive",
        "target": None,
        "label": "positive",
        "label_id": 1,
    }
    return {**row, **kw}


def pstance_row(**kw) -> dict:
    row = imdb_row(
        dataset="pstance",
        target="Joe Biden",
        label="favor",
        label_id=1,
        label_text="favor (opinion towards 'Joe Biden')",
        label_text_code="favor(opinion towards 'Joe Biden')",
    )
    return {**row, **kw}


def atsa_row(gold: list, **kw) -> dict:
    row = {
        "dataset": "atsa",
        "split": "dev",
        "example_id": "train-00001",
        "source_id": "1:0",
        "raw_split": "train",
        "row": 1,
        "sentence": "I had the best ravioli ever.",
        "label_text": str([tuple(t) for t in gold]),
        "label_text_code": str([tuple(t) for t in gold]),
        "gold_json": json.dumps(gold),
        "n_gold": len(gold),
    }
    return {**row, **kw}


def ssa_row(**kw) -> dict:
    op = {
        "holder": [],
        "holder_spans": [],
        "target": ["wellness hotel"],
        "target_spans": ["12:26"],
        "expression": ["beautiful"],
        "expression_spans": ["2:11"],
        "polarity": "positive",
        "intensity": "Standard",
    }
    row = {
        "dataset": "ssa",
        "split": "train",
        "example_id": "train-00000",
        "source_id": "s1",
        "raw_split": "train",
        "row": 0,
        "sentence": "A beautiful wellness hotel",
        "label_text": "[('NULL', 'wellness hotel', 'beautiful', 'positive')]",
        "label_text_code": "[('NULL', 'wellness hotel', 'beautiful', 'positive')]",
        "gold_json": '[["NULL", "wellness hotel", "beautiful", "positive"]]',
        "n_gold": 1,
        "opinions": [op],
    }
    return {**row, **kw}


def rejects(key: str, rows: list[dict], match: str) -> None:
    with pytest.raises(pandera.errors.SchemaErrors, match=match):
        schema_for(key).validate(frame(key, rows), lazy=True)


def test_valid_rows_pass():
    schema_for("imdb").validate(frame("imdb", [imdb_row()]), lazy=True)
    schema_for("pstance").validate(frame("pstance", [pstance_row()]), lazy=True)
    schema_for("atsa").validate(frame("atsa", [atsa_row([["ravioli", "positive"]])]), lazy=True)
    schema_for("atsa").validate(frame("atsa", [atsa_row([])]), lazy=True)  # no explicit aspect term
    schema_for("ssa").validate(frame("ssa", [ssa_row()]), lazy=True)


def test_missing_label_is_rejected():
    rejects("imdb", [imdb_row(label=None, label_id=None)], "non-nullable column 'label'")


def test_label_outside_the_dataset_label_set_is_rejected():
    rejects("imdb", [imdb_row(label="neutral", label_text="neutral")], "isin")  # Twitter's, not IMDb's
    rejects("imdb", [imdb_row(label="Positive", label_text="Positive")], "isin")  # labels are lower case
    rejects("imdb", [imdb_row(label_id=0)], "label_id must be the index")


def test_empty_text_is_rejected():
    rejects("imdb", [imdb_row(sentence="")], "non_empty_text")
    rejects("imdb", [imdb_row(sentence="  \n ")], "non_empty_text")


def test_pstance_needs_its_target_and_others_have_none():
    rejects("pstance", [pstance_row(target=None)], "target")
    rejects("imdb", [imdb_row(target="Joe Biden")], "target_is_null")
    rejects("pstance", [pstance_row(label_text="favor")], "opinion towards")
    # the code's wording has no space before "(" (icl_multifaced.py)
    rejects("pstance", [pstance_row(label_text_code="favor (opinion towards 'Joe Biden')")], "label_text_code")


def test_split_and_uniqueness():
    rejects("imdb", [imdb_row(split="val")], "isin")
    rejects("imdb", [imdb_row(), imdb_row(row=1)], "unique|duplicate")


def test_fine_grained_gold_is_checked():
    rejects("atsa", [atsa_row([["ravioli", "great"]])], "gold_json")  # polarity outside the set
    rejects("atsa", [atsa_row([["ravioli"]])], "gold_json")  # wrong arity
    rejects("atsa", [atsa_row([["ravioli", "positive"]], label_text="[('ravioli', 'negative')]")], "repr")
    acsa = atsa_row([["FOOD#QUALITY", "positive"]], dataset="acsa")
    rejects("acsa", [acsa], "gold_json")  # raw category, not 'food quality'


def test_ssa_spans_must_cut_their_text_out_of_the_sentence():
    op = ssa_row()["opinions"][0]
    rejects("ssa", [ssa_row(opinions=[{**op, "target_spans": ["11:26"]}])], "opinion_spans")
    rejects("ssa", [ssa_row(n_gold=2)], "n_gold")


def test_every_dataset_has_a_schema():
    assert set(SCHEMAS) == set(DATASETS)
