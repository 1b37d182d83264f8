"""Ingest the raw unlabeled JSONL sources into one normalized corpus.

Every line of every configured file is accounted for: it becomes a corpus row or a
rejected row with a reason. Reasons, in the order they are checked:

==================  ==========================================================
``invalid_utf8``    the line's bytes are not valid UTF-8
``bad_json``        not parseable as JSON (blank lines included)
``not_object``      valid JSON but not an object (``[...]``, ``"..."``, ``3``)
``missing_text``    no ``text`` field (or ``null``)
``non_string_text`` ``text`` is a number, list, object or boolean
``missing_domain``  no ``domain`` in the row and none configured for the file
``empty``           nothing left after normalization
``too_short``       normalized text shorter than ``min_chars``
``too_long``        normalized text longer than ``max_chars``
==================  ==========================================================

Corpus rows keep the original ``text`` and its ``normalized`` form; ``id`` is a
content hash of the normalized text (exact duplicates share it until the dedup
stage keeps one of them).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import polars as pl
from pydantic import Field, model_validator

from sentidistill.corpus.accounting import account
from sentidistill.corpus.artifacts import CORPUS_COLUMNS, NORMALIZED, REJECTED, REJECTED_COLUMNS
from sentidistill.corpus.normalize import NormalizeParams, normalize_series
from sentidistill.headline import write_stats
from sentidistill.io import write_parquet
from sentidistill.log import get_logger
from sentidistill.params import StrictModel
from sentidistill.paths import ROOT, require_pulled
from sentidistill.schemas.corpus import CORPUS_NORMALIZED, CORPUS_REJECTED, REJECT_REASONS, content_id

log = get_logger(__name__)


class SourceSpec(StrictModel):
    """One JSONL file of the corpus. ``domain``/``source`` fill rows that lack them."""

    path: str
    domain: str | None = None
    source: str | None = None


class IngestParams(StrictModel):
    """``corpus.ingest`` in params.yaml."""

    sources: list[SourceSpec] = Field(min_length=1)
    text_field: str = "text"
    min_chars: int = Field(ge=1)
    max_chars: int = Field(ge=1)
    snippet_chars: int = Field(200, ge=1)
    normalize: NormalizeParams = NormalizeParams()

    @model_validator(mode="after")
    def _check(self) -> IngestParams:
        if self.min_chars > self.max_chars:
            raise ValueError(f"min_chars ({self.min_chars}) must not exceed max_chars ({self.max_chars})")
        paths = [s.path for s in self.sources]
        if len(set(paths)) != len(paths):
            raise ValueError(f"sources lists a file twice: {paths}")
        return self


def split_lines(data: bytes) -> list[bytes]:
    """The lines of a JSONL file (a final newline does not start another line)."""
    if not data:
        return []
    lines = data.split(b"\n")
    if lines[-1] == b"":
        lines.pop()
    return lines


def count_lines(path: Path) -> int:
    return len(split_lines(path.read_bytes()))


def resolve(path: str, base_dir: Path = ROOT) -> Path:
    p = Path(path)
    return p if p.is_absolute() else base_dir / p


def _str_field(obj: dict[str, Any], key: str) -> str | None:
    v = obj.get(key)
    return v if isinstance(v, str) and v.strip() else None


def parse_file(
    spec: SourceSpec, params: IngestParams, base_dir: Path = ROOT
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], int]:
    """Parse one JSONL file: (parsed rows, rejected rows, number of lines)."""
    path = resolve(spec.path, base_dir)
    if not path.is_file():
        raise FileNotFoundError(
            f"corpus source {spec.path} not found (resolved to {path}). Run `dvc pull data/raw/unlabeled`, "
            "or fix/remove the entry under corpus.ingest.sources in params.yaml."
        )
    lines = split_lines(path.read_bytes())
    n_snip = params.snippet_chars
    ok: list[dict[str, Any]] = []
    bad: list[dict[str, Any]] = []

    def reject(lineno: int, reason: str, detail: str, snippet: str, obj: dict[str, Any] | None = None) -> None:
        obj = obj or {}
        bad.append(
            {
                "file": spec.path,
                "line": lineno,
                "origin": _str_field(obj, "origin") or f"{spec.path}#L{lineno}",
                "domain": _str_field(obj, "domain") or spec.domain,
                "source": _str_field(obj, "source") or spec.source,
                "reason": reason,
                "detail": detail,
                "snippet": snippet[:n_snip],
            }
        )

    for lineno, raw in enumerate(lines, start=1):
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            reject(lineno, "invalid_utf8", str(exc), raw[: 4 * n_snip].decode("utf-8", errors="replace"))
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            reject(lineno, "bad_json", "blank line" if not line.strip() else str(exc), line)
            continue
        if not isinstance(obj, dict):
            reject(lineno, "not_object", f"JSON {type(obj).__name__}, expected an object", line)
            continue
        text = obj.get(params.text_field)
        if text is None:
            reject(lineno, "missing_text", f"no '{params.text_field}' field", line, obj)
            continue
        if not isinstance(text, str):
            reject(lineno, "non_string_text", f"'{params.text_field}' is a JSON {type(text).__name__}", line, obj)
            continue
        domain = _str_field(obj, "domain") or spec.domain
        if domain is None:
            reject(lineno, "missing_domain", "no 'domain' in the row and none configured for the file", line, obj)
            continue
        ok.append(
            {
                "file": spec.path,
                "line": lineno,
                "origin": _str_field(obj, "origin") or f"{spec.path}#L{lineno}",
                "domain": domain,
                "source": _str_field(obj, "source") or spec.source or path.stem,
                "text": text,
            }
        )
    return ok, bad, len(lines)


_PARSED_SCHEMA = {
    "file": pl.String,
    "line": pl.Int64,
    "origin": pl.String,
    "domain": pl.String,
    "source": pl.String,
    "text": pl.String,
}
_REJECTED_SCHEMA = {
    "file": pl.String,
    "line": pl.Int64,
    "origin": pl.String,
    "domain": pl.String,
    "source": pl.String,
    "reason": pl.String,
    "detail": pl.String,
    "snippet": pl.String,
}


def normalize_by_domain(df: pl.DataFrame, params: NormalizeParams) -> pl.Series:
    """The ``normalized`` column: each domain's texts normalized with that domain's options."""
    out = pl.Series("normalized", [None] * df.height, dtype=pl.String)
    for domain in sorted(df["domain"].unique().to_list()):
        idx = (df["domain"] == domain).arg_true()
        out = out.scatter(idx, normalize_series(df["text"].gather(idx), params.for_domain(domain)))
    return out


def ingest(params: IngestParams, base_dir: Path = ROOT) -> tuple[pl.DataFrame, pl.DataFrame, dict[str, Any]]:
    """Read, normalize and filter every source: (corpus, rejected, stats)."""
    parsed: list[dict[str, Any]] = []
    rejected: list[dict[str, Any]] = []
    line_counts: dict[str, int] = {}
    for spec in params.sources:
        ok, bad, n = parse_file(spec, params, base_dir)
        log.info("%s: %d lines, %d parsed, %d unreadable", spec.path, n, len(ok), len(bad))
        parsed.extend(ok)
        rejected.extend(bad)
        line_counts[spec.path] = n
    df = pl.DataFrame(parsed, schema=_PARSED_SCHEMA)
    df = df.with_columns(normalize_by_domain(df, params.normalize))
    n_chars = df["normalized"].str.len_chars()
    reason = (
        pl.when(n_chars == 0)
        .then(pl.lit("empty"))
        .when(n_chars < params.min_chars)
        .then(pl.lit("too_short"))
        .when(n_chars > params.max_chars)
        .then(pl.lit("too_long"))
        .otherwise(pl.lit(None, dtype=pl.String))
    )
    df = df.with_columns(reason=reason, n_chars=n_chars)
    length_rejects = df.filter(pl.col("reason").is_not_null()).select(
        "file",
        "line",
        "origin",
        "domain",
        "source",
        "reason",
        detail=pl.format(
            "{} chars after normalization (allowed {}..{})",
            "n_chars",
            pl.lit(params.min_chars),
            pl.lit(params.max_chars),
        ),
        snippet=pl.col("text").str.slice(0, params.snippet_chars),
    )
    rejected_df = (
        pl.concat([pl.DataFrame(rejected, schema=_REJECTED_SCHEMA), length_rejects.cast(_REJECTED_SCHEMA)])
        .with_columns(
            order=pl.col("file").replace_strict(list(line_counts), range(len(line_counts)), return_dtype=pl.Int64)
        )
        .sort("order", "line")
        .drop("order")
        .select(REJECTED_COLUMNS)
    )
    kept = df.filter(pl.col("reason").is_null())
    corpus = (
        kept.with_columns(id=pl.Series([content_id(t) for t in kept["normalized"].to_list()], dtype=pl.String))
        .with_row_index("row")
        .with_columns(pl.col("row").cast(pl.Int64))
        .select(CORPUS_COLUMNS)
    )
    stats = ingest_stats(corpus, rejected_df, line_counts)
    return corpus, rejected_df, stats


def ingest_stats(corpus: pl.DataFrame, rejected: pl.DataFrame, line_counts: dict[str, int]) -> dict[str, Any]:
    table = account({"rejected": rejected, "kept": corpus}, input_name="raw", input_counts={"file": line_counts})
    reasons = {r: 0 for r in REJECT_REASONS}
    for r, n in rejected["reason"].value_counts().iter_rows():
        reasons[r] = int(n)
    return {"stage": "corpus_ingest", **table, "rejected_by_reason": reasons}


def require_sources(params: IngestParams, base_dir: Path = ROOT) -> None:
    """Fail with the `dvc pull` command when a configured source file is absent."""
    for spec in params.sources:
        require_pulled(resolve(spec.path, base_dir), f"corpus source {spec.path} (corpus.ingest.sources)")


def run_ingest(params: IngestParams, out_dir: Path, metrics: Path, base_dir: Path = ROOT) -> dict[str, Any]:
    """Stage corpus_ingest: write the normalized corpus, the rejected rows and the stats."""
    require_sources(params, base_dir)
    t0 = time.perf_counter()
    corpus, rejected, stats = ingest(params, base_dir)
    write_parquet(corpus, out_dir / NORMALIZED, CORPUS_NORMALIZED)
    write_parquet(rejected, out_dir / REJECTED, CORPUS_REJECTED)
    write_stats(metrics, stats)
    log.info("ingest: %d kept, %d rejected in %.1fs", corpus.height, rejected.height, time.perf_counter() - t0)
    return stats
