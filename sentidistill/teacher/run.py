"""Stage logic of ``teacher_generate@<corpus>``: prompt table -> validated teacher corpus.

Writes ``<out_dir>/<corpus>_corpus.parquet`` (deterministic: identical after a resumed
and an uninterrupted run), ``<out_dir>/<corpus>_cache_hits.parquet`` (which rows this run
took from the cache) and the stats JSON.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import polars as pl

from schemas.teacher import CACHE_HITS, ICLDIST_CORPUS, ICLDIST_PROMPTS, KNOWDIST_CORPUS, KNOWDIST_PROMPTS
from sentidistill.headline import write_stats
from sentidistill.icldist.formats import FormatParams
from sentidistill.icldist.prompts import parse_answer
from sentidistill.io import read_parquet, write_parquet
from sentidistill.log import get_logger
from sentidistill.teacher.config import TeacherParams
from sentidistill.teacher.corpus import TeacherRowsFailed, apply_policy, generate_table

log = get_logger(__name__)

CORPORA = ("knowdist", "icldist")


def parse_icl_answers(df: pl.DataFrame, formats: FormatParams) -> pl.DataFrame:
    """``parsed`` labels and ``parse_error`` per row; SNI answers only need to be non-empty."""
    parsed: list[list[str]] = []
    errors: list[str | None] = []
    for task, label_set, response in df.select("task", "label_set", "response").iter_rows():
        if task == "natinst":
            ok = bool(response.strip())
            parsed.append([response.strip()] if ok else [])
            errors.append(None if ok else "empty")
            continue
        p = parse_answer(task, label_set, response, formats)
        parsed.append(list(p.labels) if p.ok else [])
        errors.append(p.error)
    return df.with_columns(
        pl.Series("parsed", parsed, dtype=pl.List(pl.Utf8)), pl.Series("parse_error", errors, dtype=pl.Utf8)
    )


def run_teacher_generate(
    corpus: str, teacher: TeacherParams, exclude: Sequence[str], prompts_path: Path, out_dir: Path,
    cache_root: Path, metrics_path: Path, formats: FormatParams | None = None, max_label_share: float | None = None,
) -> dict[str, Any]:  # fmt: skip
    if corpus not in CORPORA:
        raise ValueError(f"unknown corpus {corpus!r}; expected one of {CORPORA}")
    if max_label_share is not None and corpus != "icldist":
        raise ValueError(f"{corpus}.policy.max_label_share: label balance applies to ICLDist sentiment answers "
                         "only (it needs parsed labels); remove it from this policy")  # fmt: skip
    prompt_schema, out_schema = (
        (KNOWDIST_PROMPTS, KNOWDIST_CORPUS) if corpus == "knowdist" else (ICLDIST_PROMPTS, ICLDIST_CORPUS)
    )
    requests = read_parquet(prompts_path, prompt_schema)
    try:
        table, gen_stats = generate_table(requests, teacher, corpus, cache_root)
    except TeacherRowsFailed as exc:  # the corpus is not written; the stats say which rows and why
        write_stats(metrics_path, {"corpus": corpus, "status": "failed", **exc.stats})
        raise
    parse_stats: dict[str, Any] = {}
    if corpus == "icldist":
        if formats is None:
            raise ValueError("the icldist corpus needs icldist.formats to parse answers")
        table = parse_icl_answers(table, formats)
        errs = table.filter(pl.col("parse_error").is_not_null())
        parse_stats = {
            "parse_ok": table.height - errs.height,
            "parse_errors": dict(sorted(errs.group_by("parse_error").len().iter_rows())),
            "parse_failed_by_task": dict(sorted(errs.group_by("task").len().iter_rows())),
        }
    table, policy_stats = apply_policy(table, exclude, max_label_share)
    hits = table.select("prompt_id", "key", "cache_hit")
    out = table.select(list(out_schema.columns))
    write_parquet(out, out_dir / f"{corpus}_corpus.parquet", out_schema)
    write_parquet(hits, out_dir / f"{corpus}_cache_hits.parquet", CACHE_HITS)
    stats = {"corpus": corpus, **gen_stats, **parse_stats, **policy_stats}
    write_stats(metrics_path, stats)
    log.info(
        "%s corpus: %d rows (%d cache hits, %d generated), kept %d -> %s",
        corpus, out.height, gen_stats["cache_hits"], gen_stats["generated"], policy_stats["kept"], out_dir,
    )  # fmt: skip
    return stats
