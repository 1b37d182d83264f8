"""Answer a request table with the teacher: template, key, look up, generate the missing
rows, join, flag, count. Knows no task: what a row asks and what its answer means belong
to the task (:mod:`sentidistill.teacher.task`).

Accounting (stats JSON): ``rows = teacher rows + gold rows`` (rows a task answered itself,
:data:`OwnAnswers`) and ``teacher rows = cache hits + generated + failed + answered elsewhere +
duplicate prompts`` (rows whose full prompt equals an earlier row's are answered once;
"answered elsewhere": another run writing the same cache answered them after this run looked
them up). A row the engine failed on stays in the table flagged ``teacher_error`` (a task's
policy excludes it, :mod:`sentidistill.teacher.policy`); more than ``teacher.max_failed_rows``
of them stop the stage (:class:`TeacherRowsFailed`).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl

from sentidistill.log import get_logger
from sentidistill.schemas.teacher import FINISH_REASONS, FLAGS
from sentidistill.teacher.cache import TeacherCache
from sentidistill.teacher.identity import cache_key, row_seed
from sentidistill.teacher.resolve import ResolvedTeacher

log = get_logger(__name__)

#: failed rows listed by key and reason in the stats JSON (the rest are only counted)
FAILED_ROWS_LISTED = 50


class TeacherRowsFailed(RuntimeError):
    """More rows failed at the teacher than ``teacher.max_failed_rows`` allows. Their answers
    are not cached, the others are: a rerun asks the teacher for the failed rows only."""

    def __init__(self, message: str, stats: dict[str, Any]) -> None:
        super().__init__(message)
        self.stats = stats


#: A task's hook for the rows it answers itself (a reference answer its prompt table holds):
#: given the requests with their templated ``prompt``, one row per request with ``key`` (null:
#: the teacher answers this row), ``response`` and ``engine`` (what the row records as its source).
OwnAnswers = Callable[[pl.DataFrame], "pl.DataFrame | None"]


def generate_table(
    requests: pl.DataFrame,
    teacher: ResolvedTeacher,
    name: str,
    cache_root: str | Path,
    *,
    own_answers: OwnAnswers | None = None,
) -> tuple[pl.DataFrame, dict[str, Any]]:
    """Answer every row of ``requests`` (needs ``prompt_id`` and ``user_message``; other
    columns pass through) with ``teacher`` sampled as ``teacher.sampling.<name>``, through the
    cache namespace ``<cache_root>/<name>``.

    ``own_answers`` (a task's hook, :data:`OwnAnswers`) answers some rows itself -- a
    reference answer the prompt table holds -- so the teacher never sees them; the stats
    count them as ``gold_rows``.

    Returns ``requests`` + prompt, key, response, token counts, finish_reason, engine, flag,
    cache_hit; and run stats. Only keys missing from the cache reach the teacher.
    """
    sampling = teacher.sampling_for(name)
    ident = teacher.identity
    label = teacher.label
    req = requests.with_columns(pl.Series("prompt", teacher.prompts(requests["user_message"].to_list()), dtype=pl.Utf8))
    own = own_answers(req) if own_answers is not None else None
    if own is not None and own.height != req.height:
        raise ValueError(
            f"own_answers gave {own.height} rows for {req.height} requests (one per request: key null = ask)"
        )
    own_mask = own["key"].is_not_null().to_list() if own is not None else [False] * req.height
    own_keys = own["key"].to_list() if own is not None else [None] * req.height
    keys = [k if g else cache_key(ident, sampling, p) for p, g, k in zip(req["prompt"].to_list(), own_mask, own_keys)]
    req = req.with_columns(pl.Series("key", keys, dtype=pl.Utf8), pl.Series("_own", own_mask, dtype=pl.Boolean))
    teacher_rows = req.filter(~pl.col("_own"))
    unique = teacher_rows.unique("key", keep="first", maintain_order=True)
    cache = TeacherCache(Path(cache_root) / name)
    stale = cache.remove_stale_temp_files()
    cache.verify()
    before = cache.lookup(unique["key"].to_list())
    hit_keys = set(before["key"].to_list())
    missing = unique.filter(~pl.col("key").is_in(list(hit_keys))).select(
        "key", "prompt", pl.col("key").map_elements(row_seed, return_dtype=pl.Int64).alias("seed")
    )
    log.info(
        "%s: %d rows, %d teacher prompts (%d unique), %d cached, %d to generate",
        name,
        req.height,
        teacher_rows.height,
        unique.height,
        len(hit_keys),
        missing.height,
    )
    from sentidistill.teacher.runner import generate_missing

    counters = generate_missing(
        missing, teacher.params, sampling, cache, parse_special=teacher.parse_special, engine_label=label, desc=name
    )
    answers = cache.lookup(unique["key"].to_list())
    failed = counters.failed
    if answers.height + len(failed) != unique.height:
        raise RuntimeError(  # a shard vanished or was set aside while this run wrote it
            f"{unique.height - answers.height - len(failed)} rows have no answer after generation: "
            f"check {cache.root} (see the warnings above) and rerun"
        )
    if failed:
        answers = pl.concat(
            [
                answers,
                pl.DataFrame(
                    {
                        "key": list(failed),
                        "response": [""] * len(failed),
                        "n_prompt_tokens": [0] * len(failed),
                        "n_completion_tokens": [0] * len(failed),
                        "finish_reason": ["error"] * len(failed),
                        "engine": [label] * len(failed),
                    },
                    schema=answers.schema,
                ),
            ]
        )
    if own is not None:
        given = own.filter(pl.Series(own_mask, dtype=pl.Boolean)).select(
            pl.col("key").cast(pl.Utf8),
            pl.col("response").cast(pl.Utf8).fill_null(""),
            pl.lit(0, dtype=pl.Int64).alias("n_prompt_tokens"),
            pl.lit(0, dtype=pl.Int64).alias("n_completion_tokens"),
            pl.lit("stop").alias("finish_reason"),
            pl.col("engine").cast(pl.Utf8),
        )
        answers = pl.concat([answers, given])
    answers = answers.unique("key", keep="first", maintain_order=True)
    out = (
        req.join(answers, on="key", how="left", maintain_order="left")
        .with_columns(
            pl.when(pl.col("finish_reason") == "error")
            .then(pl.lit("teacher_error"))
            .when(pl.col("response").str.strip_chars() == "")
            .then(pl.lit("empty"))
            .when(pl.col("finish_reason") == "length")
            .then(pl.lit("truncated"))
            .otherwise(pl.lit(None, dtype=pl.Utf8))
            .alias("flag"),
            pl.col("key").is_in(list(hit_keys)).alias("cache_hit"),
        )
        .drop("_own")
    )
    n_dup = teacher_rows.height - unique.height
    stats = {
        "rows": req.height,
        "teacher_rows": teacher_rows.height,
        "gold_rows": req.height - teacher_rows.height,  # answered by the task itself (own_answers)
        "unique_prompts": unique.height,
        "duplicate_prompts": n_dup,
        "cache_hits": len(hit_keys),
        "cache_hit_rate": round(len(hit_keys) / unique.height, 4) if unique.height else 0.0,
        **counters.as_dict(),
        "tokens": {
            "prompt": int(out["n_prompt_tokens"].sum()),
            "completion": int(out["n_completion_tokens"].sum()),
        },
        "flags": {f: int((out["flag"] == f).sum()) for f in FLAGS},
        "finish_reasons": {r: int((out["finish_reason"] == r).sum()) for r in FINISH_REASONS},
        "engine": label,
        "teacher_identity": ident,
        "cache": {**cache.stats(), "stale_temp_files_removed": stale},
    }
    if failed:
        reasons: dict[str, int] = {}
        for why in failed.values():
            reasons[why.split(":")[0]] = reasons.get(why.split(":")[0], 0) + 1
        by_key = dict(zip(req["key"].to_list(), req["prompt_id"].to_list())) if "prompt_id" in req.columns else {}
        stats["failed_rows"] = {
            "count": len(failed),
            "by_reason": dict(sorted(reasons.items())),
            "rows": [
                {"key": k, "prompt_id": by_key.get(k), "error": e} for k, e in list(failed.items())[:FAILED_ROWS_LISTED]
            ],
        }
        max_failed = teacher.params.max_failed_rows
        if len(failed) > max_failed:
            first = next(iter(failed.values()))
            raise TeacherRowsFailed(
                f"{len(failed)} of {unique.height} teacher prompts failed (first: {first[:300]}); their answers are "
                f"not cached, the other {answers.height - len(failed)} are. Rerun to retry only the failed rows, or "
                f"allow up to N failures with teacher.max_failed_rows (now {max_failed}).",
                stats,
            )
        log.warning(
            "%s: %d rows failed at the teacher; they stay in the table flagged teacher_error", name, len(failed)
        )
    return out, stats
