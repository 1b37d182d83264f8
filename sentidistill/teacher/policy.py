"""Which answered rows leave the training set: the teacher's own flags, and reasons a task adds.

A row is never dropped: it gets ``keep: false`` and its ``exclude_reason`` (the first that
applies), and the stats count every reason (``rows = kept + sum(excluded)``). The teacher's
flags (:func:`sentidistill.teacher.generate.generate_table`) give ``teacher_error`` (always
excluded: the row has no answer), ``empty`` and ``truncated``; a task adds its own reasons
with their condition (ICLDist: ``parse_failed``, then its label balance) and may exclude more
rows afterwards, counting them with :func:`exclusion_stats`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import polars as pl

from sentidistill.schemas.teacher import EXCLUDE_REASONS

#: Reasons from the teacher's ``flag`` column, in the order they are checked.
FLAG_REASONS = ("teacher_error", "empty", "truncated")
#: The flag reasons a policy may list (``teacher_error`` always applies).
LISTABLE_FLAGS = tuple(r for r in FLAG_REASONS if r != "teacher_error")


def check_exclude(exclude: Sequence[str], task_reasons: Sequence[str] = (), hint: str = "") -> None:
    """Fail on a reason that is neither a listable flag nor one of the task's ``task_reasons``."""
    allowed = [*LISTABLE_FLAGS, *task_reasons]
    bad = [r for r in exclude if r not in allowed]
    if bad:
        raise ValueError(f"unknown exclusion reasons {bad}; allowed: {allowed}{hint}")


def exclude_rows(
    df: pl.DataFrame, exclude: Sequence[str], conditions: Mapping[str, pl.Expr] | None = None
) -> pl.DataFrame:
    """Add ``exclude_reason`` (the first reason of ``exclude`` that applies, flag reasons first,
    then the task's ``conditions`` in their order) and ``keep`` (no reason)."""
    conditions = dict(conditions or {})
    check_exclude(exclude, list(conditions))
    listed = ["teacher_error", *exclude]
    expr = pl.lit(None, dtype=pl.Utf8)
    for reason in reversed([r for r in (*FLAG_REASONS, *conditions) if r in listed]):
        cond = conditions[reason] if reason in conditions else pl.col("flag") == reason
        expr = pl.when(cond).then(pl.lit(reason)).otherwise(expr)
    return df.with_columns(expr.alias("exclude_reason")).with_columns(pl.col("exclude_reason").is_null().alias("keep"))


def exclusion_stats(df: pl.DataFrame, exclude: Sequence[str], reasons: Sequence[str] = ()) -> dict[str, Any]:
    """``{"policy": exclude, "kept", "excluded": {reason: rows}}`` over ``teacher_error``, the
    listed reasons and the task's later ones (``reasons``), in :data:`EXCLUDE_REASONS` order."""
    counted = {"teacher_error", *exclude, *reasons}
    order = [*EXCLUDE_REASONS, *(r for r in (*exclude, *reasons) if r not in EXCLUDE_REASONS)]
    excluded = {r: int((df["exclude_reason"] == r).sum()) for r in order if r in counted}
    kept = int(df["keep"].sum())
    if kept + sum(excluded.values()) != df.height:  # pragma: no cover - by construction
        raise AssertionError("exclusion accounting does not add up")
    return {"policy": list(exclude), "kept": kept, "excluded": excluded}


def apply_exclusions(
    df: pl.DataFrame, exclude: Sequence[str], conditions: Mapping[str, pl.Expr] | None = None
) -> tuple[pl.DataFrame, dict[str, Any]]:
    """:func:`exclude_rows` and its :func:`exclusion_stats`."""
    out = exclude_rows(df, exclude, conditions)
    return out, exclusion_stats(out, exclude)
