"""pandera.polars schemas of ``data/sentibench/<key>.parquet`` (one file per dataset).

Every file has the common columns; classification datasets add ``target``/``label``/
``label_id``, fine-grained ones ``gold_json``/``n_gold`` and SSA also ``opinions`` (gold
opinions with char offsets). Schemas are per dataset, so label and category sets are checked
against that dataset's spec:

================  =======================================================================
column            meaning
================  =======================================================================
dataset           registry key (``imdb`` ... ``ssa``)
split             ``train`` | ``dev`` | ``test`` (dev = val.json, or carved from train
                  for ATSA/ACSA, Table 1)
example_id        ``<raw_split>-<row:05d>``, unique within the dataset
source_id         the raw ``ID`` (Rest16 ATSA/ACSA) or ``sent_id`` (OpeNER); else null
raw_split, row    raw file (``train``/``val``/``test``) and 0-based position in it
sentence          the text, verbatim (never empty)
label_text        exact demo label string after ``Label: `` in the paper's wording (lower-case
                  label; P-Stance ``favor (opinion towards 'Joe Biden')``; FSA: Python repr
                  of the tuples)
label_text_code   the same in the authors' code's wording (``prompt_text: code``): P-Stance
                  ``favor(opinion towards 'Joe Biden')``, ATSA pairs in the code's order
                  (sorted by their *string* offsets); else equal to ``label_text``
target            P-Stance target (null for other datasets)
label, label_id   lower-case label and its index in the spec's label order
gold_json         FSA gold tuples as a JSON list of lists (ASQP order: category, aspect,
                  opinion, sentiment; SSA includes the all-NULL tuple of opinion-less rows)
n_gold            number of gold tuples the metric sees (SSA: raw opinions, may be 0)
opinions          SSA only: list of {holder, holder_spans, target, target_spans,
                  expression, expression_spans, polarity, intensity}; spans are "b:e"
================  =======================================================================
"""

from __future__ import annotations

import functools
import json
from typing import Any

import pandera.polars as pa
import polars as pl

from sentidistill.schemas.sentibench_datasets import (
    ACSA_CATEGORIES,
    ASQP_CATEGORIES,
    DATASETS,
    POLARITIES,
    SPLITS,
    SSA_POLARITIES,
    DatasetSpec,
    stance_label_text,
)

SSA_OPINIONS_DTYPE = pl.List(
    pl.Struct(
        {
            "holder": pl.List(pl.Utf8),
            "holder_spans": pl.List(pl.Utf8),
            "target": pl.List(pl.Utf8),
            "target_spans": pl.List(pl.Utf8),
            "expression": pl.List(pl.Utf8),
            "expression_spans": pl.List(pl.Utf8),
            "polarity": pl.Utf8,
            "intensity": pl.Utf8,
        }
    )
)


def frame_dtypes(spec: DatasetSpec) -> dict[str, pl.DataType]:
    """Column -> dtype of one dataset's parquet, in column order."""
    cols: dict[str, pl.DataType] = {
        "dataset": pl.Utf8(),
        "split": pl.Utf8(),
        "example_id": pl.Utf8(),
        "source_id": pl.Utf8(),
        "raw_split": pl.Utf8(),
        "row": pl.Int64(),
        "sentence": pl.Utf8(),
        "label_text": pl.Utf8(),
        "label_text_code": pl.Utf8(),
    }
    if spec.is_classification:
        cols.update(target=pl.Utf8(), label=pl.Utf8(), label_id=pl.Int64())
    else:
        cols.update(gold_json=pl.Utf8(), n_gold=pl.Int64())
        if spec.kind == "ssa":
            cols["opinions"] = SSA_OPINIONS_DTYPE
    return cols


def _non_empty(data: pa.PolarsData) -> pl.LazyFrame:
    return data.lazyframe.select(pl.col(data.key).str.strip_chars().str.len_chars() > 0)


NON_EMPTY = pa.Check(_non_empty, name="non_empty_text", error="empty or whitespace-only text")


def _row_check(columns: list[str], fn: Any, name: str, error: str) -> pa.Check:
    """A dataframe-level check evaluated row by row in Python over ``columns``."""

    def check(data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(
            pl.struct(columns).map_elements(lambda r: bool(fn(r)), return_dtype=pl.Boolean).alias(name)
        )

    return pa.Check(check, name=name, error=error)


def _gold_tuples(gold_json: str) -> list[tuple[str, ...]] | None:
    try:
        gold = json.loads(gold_json)
    except (TypeError, ValueError):
        return None
    if not isinstance(gold, list) or not all(isinstance(t, list) for t in gold):
        return None
    return [tuple(t) for t in gold]


def _gold_ok(spec: DatasetSpec, gold_json: str) -> bool:
    gold = _gold_tuples(gold_json)
    if gold is None:
        return False
    for t in gold:
        if len(t) != spec.arity or not all(isinstance(x, str) and x for x in t):
            return False
        if spec.kind == "atsa" and t[1] not in POLARITIES:
            return False
        if spec.kind == "acsa" and (t[0] not in ACSA_CATEGORIES or t[1] not in POLARITIES):
            return False
        if spec.kind == "asqp" and (t[0] not in ASQP_CATEGORIES or t[3] not in POLARITIES):
            return False
        if spec.kind == "ssa" and t != ("NULL",) * 4 and t[3] not in SSA_POLARITIES:
            return False
    if spec.kind != "atsa" and len(gold) != len(set(gold)):
        return False  # de-duplicated, except ATSA: a term may recur at another offset
    return spec.kind != "ssa" or len(gold) > 0  # SSA: opinion-less rows carry the NULL tuple


def _spans_ok(row: dict[str, Any]) -> bool:
    sentence = row["sentence"]
    for op in row["opinions"] or []:
        if not op["expression"] or op["polarity"] not in SSA_POLARITIES:
            return False
        for name in ("holder", "target", "expression"):
            texts, spans = op[name], op[f"{name}_spans"]
            if len(texts) != len(spans):
                return False
            for text, span in zip(texts, spans):
                b, _, e = span.partition(":")
                if not (b.isdigit() and e.isdigit()) or sentence[int(b) : int(e)] != text:
                    return False
    return True


def _common_columns(spec: DatasetSpec) -> dict[str, pa.Column]:
    raw_splits = [f.removesuffix(".json") for f in spec.raw_files.values()]
    return {
        "dataset": pa.Column(pl.Utf8, pa.Check.isin([spec.key])),
        "split": pa.Column(pl.Utf8, pa.Check.isin(list(SPLITS))),
        "example_id": pa.Column(pl.Utf8, NON_EMPTY),
        "source_id": pa.Column(pl.Utf8, nullable=True),
        "raw_split": pa.Column(pl.Utf8, pa.Check.isin(raw_splits)),
        "row": pa.Column(pl.Int64, pa.Check.ge(0)),
        "sentence": pa.Column(pl.Utf8, NON_EMPTY),
        "label_text": pa.Column(pl.Utf8, NON_EMPTY),
        "label_text_code": pa.Column(pl.Utf8, NON_EMPTY),
    }


def _classification_schema(spec: DatasetSpec) -> pa.DataFrameSchema:
    cols = _common_columns(spec)
    cols["label"] = pa.Column(pl.Utf8, pa.Check.isin(list(spec.labels)))
    cols["label_id"] = pa.Column(pl.Int64, pa.Check.in_range(0, len(spec.labels) - 1))
    labels = list(spec.labels)
    checks = [
        _row_check(
            ["label", "label_id"],
            lambda r: r["label"] in labels and labels.index(r["label"]) == r["label_id"],
            "label_id_matches_label",
            f"label_id must be the index of label in {labels}",
        )
    ]
    if spec.has_target:
        cols["target"] = pa.Column(pl.Utf8, NON_EMPTY)
        for column, wording in (("label_text", "paper"), ("label_text_code", "code")):
            checks.append(
                _row_check(
                    ["label", "target", column],
                    lambda r, column=column, wording=wording: (
                        r[column] == stance_label_text(r["label"], r["target"], wording)
                    ),
                    f"{column}_matches",
                    f"{column} must be {stance_label_text('<label>', '<target>', wording)!r} (prompt_text: {wording})",
                )
            )
    else:
        cols["target"] = pa.Column(
            pl.Utf8,
            nullable=True,
            checks=pa.Check(
                lambda d: d.lazyframe.select(pl.col(d.key).is_null()),
                name="target_is_null",
                error=f"{spec.key} has no targets",
            ),
        )
        checks.append(
            _row_check(
                ["label", "label_text", "label_text_code"],
                lambda r: r["label_text"] == r["label"] == r["label_text_code"],
                "label_text_matches",
                "label_text and label_text_code must equal label",
            )
        )
    return pa.DataFrameSchema(
        cols, checks=checks, unique=["dataset", "example_id"], strict=True, name=f"sentibench_{spec.key}"
    )


def _fsa_schema(spec: DatasetSpec) -> pa.DataFrameSchema:
    cols = _common_columns(spec)
    cols["gold_json"] = pa.Column(
        pl.Utf8,
        pa.Check(
            lambda v: _gold_ok(spec, v),
            element_wise=True,
            name=f"{spec.kind}_gold_tuples",
            error=f"gold_json must be a JSON list of valid {spec.kind} tuples (arity {spec.arity})",
        ),
    )
    cols["n_gold"] = pa.Column(pl.Int64, pa.Check.ge(0))
    checks = [
        _row_check(
            ["gold_json", "label_text"],
            lambda r: r["label_text"] == str(_gold_tuples(r["gold_json"])),
            "label_text_matches",
            "label_text must be the Python repr of the gold tuple list",
        )
    ]
    if spec.kind == "ssa":
        cols["opinions"] = pa.Column(SSA_OPINIONS_DTYPE)
        checks += [
            _row_check(
                ["sentence", "opinions"],
                _spans_ok,
                "opinion_spans_match_sentence",
                "every opinion span 'b:e' must cut its text out of the sentence",
            ),
            _row_check(
                ["opinions", "n_gold"],
                lambda r: len(r["opinions"]) == r["n_gold"],
                "n_gold_is_opinion_count",
                "n_gold must be the number of opinions",
            ),
        ]
    else:
        checks.append(
            _row_check(
                ["gold_json", "n_gold"],
                lambda r: len(json.loads(r["gold_json"])) == r["n_gold"],
                "n_gold_is_tuple_count",
                "n_gold must be the number of gold tuples",
            )
        )
    return pa.DataFrameSchema(
        cols, checks=checks, unique=["dataset", "example_id"], strict=True, name=f"sentibench_{spec.key}"
    )


@functools.cache
def schema_for(key: str) -> pa.DataFrameSchema:
    """The schema of ``data/sentibench/<key>.parquet``."""
    spec = DATASETS[key]
    return _classification_schema(spec) if spec.is_classification else _fsa_schema(spec)


#: key -> schema, for every dataset.
SCHEMAS: dict[str, pa.DataFrameSchema] = {k: schema_for(k) for k in DATASETS}
