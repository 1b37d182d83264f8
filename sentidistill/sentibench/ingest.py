"""Raw SentiBench JSON -> one validated parquet per dataset (all splits in one file).

Raw files are JSON arrays, most starting with a UTF-8 byte-order mark (yelp2's train/val do
not; ``utf-8-sig`` reads both). Nothing is silently dropped: a malformed row (missing or
unknown label, empty text, a span that does not match its sentence, ...) raises
:class:`IngestError` naming dataset, file and row, so every raw row ends up in the parquet.

Per row we store the exact demo label string (``label_text``), built the way the authors'
code builds ``label_seq`` (HITSZ-HLT/Sentiment-Distillation @2810fc2, ``fsa.py`` and
``icl_multifaced.py``), and for fine-grained datasets the gold tuples as JSON (``gold_json``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import polars as pl
from pydantic import Field

from sentidistill.io import write_parquet
from sentidistill.log import get_logger
from sentidistill.params import StrictModel
from sentidistill.schemas.sentibench import frame_dtypes, schema_for
from sentidistill.schemas.sentibench_datasets import (
    ACSA_CATEGORIES,
    ASQP_CATEGORIES,
    DATASETS,
    POLARITIES,
    SPLITS,
    SSA_POLARITIES,
    DatasetSpec,
    PromptText,
    stance_label_text,
)

log = get_logger(__name__)

NULL = "NULL"  # the placeholder the prompts use for a missing holder/target/aspect


class IngestParams(StrictModel):
    """``params.yaml`` group ``sentibench.ingest``."""

    # Table 1: ATSA/ACSA split Rest16's 2000 training rows into 1600 train + 400 dev.
    dev_size_absa: int = Field(ge=1)
    # Seed of that split (hash-ranked, so it does not depend on any RNG implementation).
    dev_seed: int


class IngestError(ValueError):
    """A raw row that cannot become a SentiBench example; the message names dataset/file/row."""


# ----------------------------------------------------------------------------------------
# Reading
# ----------------------------------------------------------------------------------------


def load_raw_json(path: str | Path) -> list[dict[str, Any]]:
    """A raw split file: a JSON array of objects, with or without a UTF-8 BOM."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(
            f"{path} not found: the SentiBench raw data comes from DVC; run `dvc pull data/raw/sentibench`."
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except json.JSONDecodeError as exc:
        raise IngestError(f"{path}: not valid JSON ({exc})") from exc
    if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
        raise IngestError(f"{path}: expected a JSON array of objects")
    return data


# ----------------------------------------------------------------------------------------
# Gold labels, one builder per kind (pure functions of one raw row)
# ----------------------------------------------------------------------------------------


def _req_str(row: Mapping[str, Any], key: str, where: str) -> str:
    val = row.get(key)
    if not isinstance(val, str):
        raise IngestError(f"{where}: missing or non-string '{key}' (got {val!r})")
    return val


def _check_in(value: str, allowed: Sequence[str], what: str, where: str) -> None:
    if value not in allowed:
        raise IngestError(f"{where}: {what} {value!r} is not one of {list(allowed)}")


def classification_label(spec: DatasetSpec, row: Mapping[str, Any], where: str) -> str:
    """Lower-cased label (``FAVOR`` -> ``favor``, ``Not Intimate`` -> ``not intimate``)."""
    label = row.get("label")
    if not isinstance(label, str) or not label.strip():
        raise IngestError(f"{where}: missing label (got {label!r})")
    label = label.lower()
    _check_in(label, spec.labels, "label", where)
    return label


def _offset(val: Any, where: str) -> int:
    # Raw offsets are strings ("51"); the authors map None to 0 (``ifnt0``).
    if val is None:
        return 0
    try:
        return int(val)
    except (TypeError, ValueError):
        raise IngestError(f"{where}: aspect offset {val!r} is not an integer") from None


def atsa_gold(row: Mapping[str, Any], where: str, order: Literal["text", "code"] = "text") -> list[tuple[str, str]]:
    """(aspect term, polarity) for every aspect with an explicit term, in text order.

    As the authors: aspects whose target is NULL/None are skipped, duplicates of
    (term, polarity, from, to) are removed, pairs are sorted by (from, to). A term that occurs
    twice in the sentence with the same polarity therefore appears twice in the demo label
    (the metric compares per-example sets, so this only affects prompts). The authors sort
    the raw *string* offsets ("100" < "51"); we sort numerically, i.e. in text order (differs
    for 219 of the 2676 Rest16 rows, demo label order only). ``order="code"`` gives the
    authors' order (the demo label of ``prompt_text: code``; ties, which the authors leave to
    set order, by term and polarity).
    """
    sentence = _req_str(row, "sentence", where)
    aspects = row.get("aspects")
    if not isinstance(aspects, list):
        raise IngestError(f"{where}: missing 'aspects' list")
    seen: set[tuple[str, str, int, int]] = set()
    for i, asp in enumerate(aspects):
        term = asp.get("target")
        if term in (NULL, None):
            continue
        pol = asp.get("polarity")
        _check_in(pol, POLARITIES, f"aspect {i} polarity", where)
        if not isinstance(term, str) or term not in sentence:
            raise IngestError(f"{where}: aspect term {term!r} does not occur in the sentence")
        seen.add((term, pol, _offset(asp.get("from"), where), _offset(asp.get("to"), where)))
    offset = str if order == "code" else int  # code: the raw offsets as strings, None as 0 (ifnt0)
    ordered = sorted(seen, key=lambda t: (offset(t[2]), offset(t[3]), t[0], t[1]))
    return [(term, pol) for term, pol, _, _ in ordered]


def acsa_category(raw: Any, where: str) -> str:
    if not isinstance(raw, str):
        raise IngestError(f"{where}: missing aspect category (got {raw!r})")
    cat = raw.lower().replace("#", " ")
    _check_in(cat, ACSA_CATEGORIES, "aspect category", where)
    return cat


def acsa_gold(row: Mapping[str, Any], where: str) -> list[tuple[str, str]]:
    """(category, polarity), category ``FOOD#QUALITY`` -> ``food quality``; de-duplicated in order."""
    aspects = row.get("aspects")
    if not isinstance(aspects, list):
        raise IngestError(f"{where}: missing 'aspects' list")
    out: list[tuple[str, str]] = []
    for i, asp in enumerate(aspects):
        pol = asp.get("polarity")
        _check_in(pol, POLARITIES, f"aspect {i} polarity", where)
        pair = (acsa_category(asp.get("category"), where), pol)
        if pair not in out:
            out.append(pair)
    return out


def asqp_gold(row: Mapping[str, Any], where: str) -> list[tuple[str, str, str, str]]:
    """(category, aspect, opinion, sentiment), de-duplicated in order.

    Category first: the authors' gold and demo labels use this order although the
    instruction lists "(aspect term, aspect category, opinion, sentiment polarity)".
    """
    quads = row.get("quards")  # sic, the raw field name
    if not isinstance(quads, list):
        raise IngestError(f"{where}: missing 'quards' list")
    out: list[tuple[str, str, str, str]] = []
    for i, q in enumerate(quads):
        vals = tuple(q.get(k) for k in ("category", "aspect", "opinion", "sentiment"))
        if not all(isinstance(v, str) and v for v in vals):
            raise IngestError(f"{where}: quad {i} has a missing field: {q!r}")
        _check_in(vals[0], ASQP_CATEGORIES, f"quad {i} category", where)
        _check_in(vals[3], POLARITIES, f"quad {i} sentiment", where)
        quad = (vals[0], vals[1], vals[2], vals[3])
        if quad not in out:
            out.append(quad)
    return out


_SSA_FIELDS = (("Source", "holder"), ("Target", "target"), ("Polar_expression", "expression"))


def ssa_opinions(row: Mapping[str, Any], where: str) -> list[dict[str, Any]]:
    """OpeNER opinions with their char offsets, checked against the sentence.

    Returns one dict per raw opinion (order and duplicates kept: the sentiment-graph metric
    counts every gold opinion) with ``holder``/``target``/``expression`` (span texts),
    ``*_spans`` ("b:e" char offsets), ``polarity`` (lower-cased) and ``intensity``.
    """
    sentence = _req_str(row, "sentence", where)
    opinions = row.get("opinions")
    if not isinstance(opinions, list):
        raise IngestError(f"{where}: missing 'opinions' list")
    out: list[dict[str, Any]] = []
    for i, op in enumerate(opinions):
        rec: dict[str, Any] = {}
        for raw_key, name in _SSA_FIELDS:
            try:
                texts, spans = op[raw_key]
            except (KeyError, TypeError, ValueError):
                raise IngestError(f"{where}: opinion {i} has no [texts, spans] '{raw_key}'") from None
            if len(texts) != len(spans):
                raise IngestError(f"{where}: opinion {i} '{raw_key}' has {len(texts)} texts but {len(spans)} spans")
            for text, span in zip(texts, spans):
                try:
                    b, e = (int(x) for x in span.split(":"))
                except (AttributeError, ValueError):
                    raise IngestError(f"{where}: opinion {i} '{raw_key}' span {span!r} is not 'b:e'") from None
                if sentence[b:e] != text:
                    raise IngestError(
                        f"{where}: opinion {i} '{raw_key}' span {span} is {sentence[b:e]!r}, not {text!r}"
                    )
            rec[name] = list(texts)
            rec[f"{name}_spans"] = list(spans)
        if not rec["expression"]:
            raise IngestError(f"{where}: opinion {i} has no polar expression")
        pol = op.get("Polarity")
        pol = pol.lower() if isinstance(pol, str) else pol
        _check_in(pol, SSA_POLARITIES, f"opinion {i} polarity", where)
        rec["polarity"] = pol
        intensity = op.get("Intensity")
        rec["intensity"] = intensity if isinstance(intensity, str) else None
        out.append(rec)
    return out


def ssa_gold(opinions: Sequence[Mapping[str, Any]]) -> list[tuple[str, str, str, str]]:
    """(holder, target, expression, polarity) label tuples, de-duplicated in order.

    Multi-span fields are joined with ' AND ', an empty holder/target is 'NULL'; a sentence
    without opinions gets the single tuple ('NULL', 'NULL', 'NULL', 'NULL') (demo label only:
    the metric scores it as having no opinion).
    """
    out: list[tuple[str, str, str, str]] = []
    for op in opinions:
        quad = (
            " AND ".join(op["holder"]) or NULL,
            " AND ".join(op["target"]) or NULL,
            " AND ".join(op["expression"]),
            op["polarity"],
        )
        if quad not in out:
            out.append(quad)
    if not opinions:
        out.append((NULL, NULL, NULL, NULL))
    return out


def label_text_for(
    spec: DatasetSpec, label: str | None, target: str | None, gold: Sequence[tuple] | None, prompt_text: PromptText
) -> str:
    """The exact string after ``Label: `` when the row is a demonstration, in the wording
    ``prompt_text`` (only P-Stance differs here; ATSA's code order comes in through ``gold``)."""
    if spec.is_classification:
        assert label is not None
        if spec.has_target:
            assert target is not None
            return stance_label_text(label, target, prompt_text)
        return label
    assert gold is not None
    return str(list(gold))  # Python repr, e.g. "[('ravioli', 'positive')]"


# ----------------------------------------------------------------------------------------
# Splits
# ----------------------------------------------------------------------------------------


def _hash_rank(seed: int, key: str) -> bytes:
    return hashlib.sha256(f"{seed}\x1f{key}".encode()).digest()


def carve_dev(ids: Sequence[str], size: int, seed: int) -> set[str]:
    """The ``size`` ids with the smallest sha256(seed, id): a seeded, order-independent,
    library-version-independent random subset (Table 1's 400-row ATSA/ACSA dev split)."""
    if size >= len(ids):
        raise ValueError(f"dev size {size} must be smaller than the {len(ids)} training rows")
    if len(set(ids)) != len(ids):
        raise ValueError("ids must be unique to carve a dev split")
    return set(sorted(ids, key=lambda i: _hash_rank(seed, i))[:size])


# ----------------------------------------------------------------------------------------
# Building one dataset
# ----------------------------------------------------------------------------------------


def _raw_split_name(file_name: str) -> str:
    return file_name.removesuffix(".json")


def _source_id(spec: DatasetSpec, row: Mapping[str, Any]) -> str | None:
    for k in ("ID", "sent_id"):
        if isinstance(row.get(k), str):
            return row[k]
    return None


def build_records(
    spec: DatasetSpec, split: str, raw_file: str, rows: Sequence[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """Raw rows of one file -> parquet records (``split`` may be re-assigned for ATSA/ACSA dev)."""
    raw_split = _raw_split_name(raw_file)
    records = []
    for i, row in enumerate(rows):
        where = f"{spec.key} ({spec.raw_dir}/{raw_file}) split={split} row={i}"
        sentence = row.get("sentence")
        if not isinstance(sentence, str) or not sentence.strip():
            raise IngestError(f"{where}: empty or missing text (sentence={sentence!r})")
        rec: dict[str, Any] = {
            "dataset": spec.key,
            "split": split,
            "example_id": f"{raw_split}-{i:05d}",
            "source_id": _source_id(spec, row),
            "raw_split": raw_split,
            "row": i,
            "sentence": sentence,
        }
        gold: list[tuple] | None = None
        if spec.is_classification:
            label = classification_label(spec, row, where)
            target = None
            if spec.has_target:
                target = row.get("target")
                if not isinstance(target, str) or not target.strip():
                    raise IngestError(f"{where}: missing target (got {target!r})")
            rec.update(target=target, label=label, label_id=spec.labels.index(label))
            rec["label_text"] = label_text_for(spec, label, target, None, "paper")
            rec["label_text_code"] = label_text_for(spec, label, target, None, "code")
        else:
            if spec.kind == "atsa":
                gold = atsa_gold(row, where)
            elif spec.kind == "acsa":
                gold = acsa_gold(row, where)
            elif spec.kind == "asqp":
                gold = asqp_gold(row, where)
            elif spec.kind == "ssa":
                rec["opinions"] = ssa_opinions(row, where)
                gold = ssa_gold(rec["opinions"])
            else:  # pragma: no cover - registry and code disagree
                raise AssertionError(spec.kind)
            rec["label_text"] = label_text_for(spec, None, None, gold, "paper")
            code_gold = atsa_gold(row, where, order="code") if spec.kind == "atsa" else gold
            rec["label_text_code"] = label_text_for(spec, None, None, code_gold, "code")
            rec["gold_json"] = json.dumps([list(t) for t in gold], ensure_ascii=False)
            rec["n_gold"] = len(rec["opinions"]) if spec.kind == "ssa" else len(gold)
        records.append(rec)
    return records


def ingest_dataset(spec: DatasetSpec, raw_root: str | Path, params: IngestParams) -> pl.DataFrame:
    """All splits of one dataset as one validated frame, ordered train, dev, test, then raw row."""
    raw_dir = Path(raw_root) / spec.raw_dir
    records: list[dict[str, Any]] = []
    for split, file_name in spec.raw_files.items():
        records += build_records(spec, split, file_name, load_raw_json(raw_dir / file_name))
    if spec.dev_from_train:
        train = [r for r in records if r["split"] == "train"]
        # Carve by the raw ID (atsa and acsa share train.json, hence the same dev rows).
        ids = [r["source_id"] or r["example_id"] for r in train]
        dev = carve_dev(ids, params.dev_size_absa, params.dev_seed)
        for r, i in zip(train, ids):
            if i in dev:
                r["split"] = "dev"
    order = {s: n for n, s in enumerate(SPLITS)}
    records.sort(key=lambda r: (order[r["split"]], r["raw_split"], r["row"]))
    df = pl.DataFrame(records, schema=frame_dtypes(spec), strict=False)
    return schema_for(spec.key).validate(df, lazy=True)


def split_counts(df: pl.DataFrame) -> dict[str, int]:
    counts = dict(df.group_by("split").len().iter_rows())
    return {s: int(counts.get(s, 0)) for s in SPLITS}


def ingest_all(
    raw_root: str | Path, out_dir: str | Path, params: IngestParams, keys: Sequence[str] | None = None
) -> dict[str, Any]:
    """Write ``<out_dir>/<key>.parquet`` for every dataset; return the row accounting.

    Accounting per dataset: ``rows_in`` (raw rows over all files) = ``rows_kept`` (every row:
    nothing is rejected, malformed rows raise), plus per-split counts and whether they match
    Table 1.
    """
    out_dir = Path(out_dir)
    stats: dict[str, Any] = {"datasets": {}}
    tot_in = tot_kept = 0
    for key in keys or list(DATASETS):
        spec = DATASETS[key]
        df = ingest_dataset(spec, raw_root, params)
        write_parquet(df, out_dir / f"{key}.parquet", schema_for(key))
        counts = split_counts(df)
        raw_rows = dict(df.group_by("raw_split").len().sort("raw_split").iter_rows())
        expected = dict(spec.expected_rows)
        entry = {
            "rows_in": int(df.height),
            "rows_kept": int(df.height),
            "rows_rejected": 0,
            "raw_files": {f"{k}.json": int(v) for k, v in raw_rows.items()},
            "splits": counts,
            "matches_table1": counts == expected,
        }
        if counts != expected:
            log.warning("%s: split sizes %s differ from Table 1 %s", key, counts, expected)
        log.info("%s: %s", key, " ".join(f"{s}={n}" for s, n in counts.items()))
        stats["datasets"][key] = entry
        tot_in += entry["rows_in"]
        tot_kept += entry["rows_kept"]
    stats.update(rows_in=tot_in, rows_kept=tot_kept, rows_rejected=0, n_datasets=len(stats["datasets"]))
    stats["params"] = params.model_dump()
    return stats
