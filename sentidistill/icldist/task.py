"""ICLDist as a teacher task (``teacher_generate@icldist``).

* Own answers: a prompt whose ``answer_source`` is not ``teacher`` carries its answer in
  ``gold`` -- SNI's reference output (``icldist.natinst.answer_source: gold``) or the query's
  own teacher label (``icldist.prompts.answer_source: demo_labels``) -- and never reaches the
  teacher; its cache key is :func:`gold_key` of the full prompt.
* Parsing: every answer against the label set its prompt showed (:func:`parse_icl_answers`).
* Policy (``icldist.policy``, :class:`ICLDistPolicyParams`): the teacher's flags, then
  ``parse_failed``, then, with ``max_label_share``, the label balance of the sentiment answers
  (:func:`balance_labels`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import pandera.polars as pa
import polars as pl
from pydantic import Field

from sentidistill.icldist.formats import FormatParams
from sentidistill.icldist.prompts import parse_answer
from sentidistill.schemas.teacher import ICLDIST_CORPUS, ICLDIST_PROMPTS
from sentidistill.teacher.config import PolicyParams
from sentidistill.teacher.policy import check_exclude, exclude_rows, exclusion_stats

#: ICLDist's own exclusion reason (after the teacher's flags) and the condition it checks.
PARSE_FAILED = "parse_failed"
LABEL_BALANCE = "label_balance"
_HINT = " (label balance: max_label_share)"


class ICLDistPolicyParams(PolicyParams):
    """``icldist.policy``: which flagged or unparsed rows leave the training set, and the label balance."""

    exclude: list[Literal["empty", "truncated", "parse_failed"]]  # type: ignore[assignment]
    max_label_share: float | None = Field(
        None,
        gt=0,
        le=1,
        description="ICLDist sentiment answers: the most any one label may hold of the kept rows of its "
        "label-word set (surplus rows leave as 'label_balance'); null = off",
    )


def gold_key(prompt: str) -> str:
    """Cache key of a row answered by its prompt table, not the teacher (never in the cache)."""
    return hashlib.sha256(("gold\x1f" + prompt).encode("utf-8")).hexdigest()


def own_answers(requests: pl.DataFrame) -> pl.DataFrame:
    """Rows whose ``answer_source`` is not ``teacher`` answer with their ``gold`` column, recorded
    with the answer source as engine (:data:`sentidistill.teacher.generate.OwnAnswers`)."""
    own = (requests["answer_source"] != "teacher").fill_null(False).to_list()
    keys = [gold_key(p) if o else None for p, o in zip(requests["prompt"].to_list(), own)]
    return pl.DataFrame(
        {
            "key": pl.Series(keys, dtype=pl.Utf8),
            "response": requests["gold"],
            "engine": requests["answer_source"],
        }
    )


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


def parse_stats(table: pl.DataFrame) -> dict[str, Any]:
    errs = table.filter(pl.col("parse_error").is_not_null())
    return {
        "parse_ok": table.height - errs.height,
        "parse_errors": dict(sorted(errs.group_by("parse_error").len().iter_rows())),
        "parse_failed_by_task": dict(sorted(errs.group_by("task").len().iter_rows())),
    }


def teacher_vs_zero_shot(table: pl.DataFrame, formats: FormatParams) -> dict[str, Any]:
    """Recombined prompts the teacher answered in context (``icldist.prompts.teacher_answer_share``):
    how often its answer equals its own zero-shot label of the query (kept in ``gold``), per task."""
    rows = table.filter(
        (pl.col("answer_source") == "teacher") & pl.col("gold").is_not_null() & (pl.col("task") != "natinst")
    )
    out: dict[str, Any] = {}
    for (task,), g in sorted(rows.group_by("task"), key=lambda x: x[0]):
        agree = sum(
            r["parse_error"] is None
            and sorted(r["parsed"]) == sorted(parse_answer(task, r["label_set"], r["gold"], formats).labels)
            for r in g.iter_rows(named=True)
        )
        out[task] = {"prompts": g.height, "agree": agree, "share": round(agree / g.height, 4)}
    return out


def label_cap(counts: Sequence[int], max_share: float) -> int:
    """The largest per-label cap ``k`` with ``k <= max_share * sum(min(c, k))``: every label
    keeps ``min(count, k)`` rows and none holds more than ``max_share`` of what is kept."""
    for k in range(max(counts, default=0), 0, -1):
        if k <= max_share * sum(min(c, k) for c in counts) + 1e-9:
            return k
    return 0


def balance_labels(df: pl.DataFrame, max_share: float) -> pl.DataFrame:
    """Mark surplus kept sentiment rows ``label_balance``, per (label-word set, answer label).

    A small ICLDist corpus can hold, say, 7 "negative" and 2 "positive" answers in SentiBench's
    label words; trained on that, the student learns the prior, not the task
    (docs/results/large-eval.md). Which rows stay is fixed by ``prompt_id`` order (a hash:
    seeded, not by position).
    """
    single = (pl.col("task") == "sentiment") & pl.col("keep") & (pl.col("parsed").list.len() == 1)
    cand = df.filter(single).with_columns(pl.col("parsed").list.first().alias("_label")).sort("prompt_id")
    drop: list[str] = []
    for (_,), part in cand.group_by(["label_set"], maintain_order=True):
        counts = part.group_by("_label").len()
        k = label_cap(counts["len"].to_list(), max_share)
        ranked = part.with_columns(pl.int_range(pl.len()).over("_label").alias("_rank"))
        drop += ranked.filter(pl.col("_rank") >= k)["prompt_id"].to_list()
    hit = pl.col("prompt_id").is_in(drop)
    return df.with_columns(
        pl.when(hit).then(pl.lit(LABEL_BALANCE)).otherwise(pl.col("exclude_reason")).alias("exclude_reason"),
        (pl.col("keep") & ~hit).alias("keep"),
    )


def check_policy(exclude: Sequence[str]) -> None:
    check_exclude(exclude, [PARSE_FAILED], _HINT)


def icldist_policy(
    df: pl.DataFrame, exclude: Sequence[str], max_label_share: float | None = None
) -> tuple[pl.DataFrame, dict[str, Any]]:
    """Add ``keep`` and ``exclude_reason`` (the first reason of ``exclude`` that applies):
    ``teacher_error``/``empty``/``truncated`` from ``flag``, ``parse_failed`` from a non-null
    ``parse_error``; then, with ``max_label_share``, ``label_balance`` (:func:`balance_labels`)."""
    check_policy(exclude)
    out = exclude_rows(df, exclude, {PARSE_FAILED: pl.col("parse_error").is_not_null()})
    if max_label_share is None:
        return out, exclusion_stats(out, exclude)
    out = balance_labels(out, max_label_share)
    return out, {**exclusion_stats(out, exclude, [LABEL_BALANCE]), "max_label_share": max_label_share}


@dataclass(frozen=True)
class ICLDistTask:
    """:class:`sentidistill.teacher.task.TeacherTask` of the ICLDist corpus."""

    name: ClassVar[str] = "icldist"
    prompt_schema: ClassVar[pa.DataFrameSchema] = ICLDIST_PROMPTS
    corpus_schema: ClassVar[pa.DataFrameSchema] = ICLDIST_CORPUS

    formats: FormatParams
    exclude: Sequence[str]
    max_label_share: float | None = None

    def __post_init__(self) -> None:
        check_policy(self.exclude)  # before any teacher work

    def format_input(self, prompts: pl.DataFrame) -> pl.DataFrame:
        return prompts  # the prompt table is the request table

    def own_answers(self, requests: pl.DataFrame) -> pl.DataFrame:
        return own_answers(requests)

    def format_output(self, answered: pl.DataFrame) -> tuple[pl.DataFrame, dict[str, Any]]:
        table = parse_icl_answers(answered, self.formats)
        return table, {**parse_stats(table), "teacher_vs_zero_shot": teacher_vs_zero_shot(table, self.formats)}

    def policy(self, table: pl.DataFrame) -> tuple[pl.DataFrame, dict[str, Any]]:
        return icldist_policy(table, self.exclude, self.max_label_share)
