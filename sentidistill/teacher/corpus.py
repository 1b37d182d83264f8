"""From a prompt table to a validated corpus: template, key, look up, generate the
missing rows, join, flag, apply the exclusion policy, count.

Accounting (stats JSON): ``rows = kept + sum(excluded by reason)`` and
``teacher rows = cache hits + generated + failed + answered elsewhere + duplicate prompts``
(rows whose full prompt equals an earlier row's are answered once; "answered elsewhere": another
run writing the same cache answered them after this run looked them up). A row the engine failed on stays in the
corpus flagged ``teacher_error`` (excluded from training, its reason in the stats); more
than ``teacher.max_failed_rows`` of them stop the stage (:class:`TeacherRowsFailed`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import polars as pl

from schemas.teacher import EXCLUDE_REASONS, FINISH_REASONS, FLAGS
from sentidistill.log import get_logger
from sentidistill.teacher.cache import TeacherCache
from sentidistill.teacher.config import TeacherParams
from sentidistill.teacher.identity import cache_key, identity_label, row_seed, teacher_identity

log = get_logger(__name__)

#: failed rows listed by key and reason in the stats JSON (the rest are only counted)
FAILED_ROWS_LISTED = 50


class TeacherRowsFailed(RuntimeError):
    """More rows failed at the teacher than ``teacher.max_failed_rows`` allows. Their answers
    are not cached, the others are: a rerun asks the teacher for the failed rows only."""

    def __init__(self, message: str, stats: dict[str, Any]) -> None:
        super().__init__(message)
        self.stats = stats


def templater_for(teacher: TeacherParams) -> Callable[[str], str] | None:
    """The chat-template function, or None when prompts go as they are (base model, or an
    OpenAI server in chat mode, which applies its own template)."""
    if not teacher.chat_template or (teacher.engine.backend == "openai" and teacher.engine.openai.chat):
        return None
    from sentidistill.models.store import model_paths
    from sentidistill.teacher.template import ChatTemplater

    return ChatTemplater(model_paths(teacher.model).hf_dir, teacher.system_prompt)


def generate_table(
    requests: pl.DataFrame, teacher: TeacherParams, corpus: str, cache_root: str | Path,
    *, identity: dict[str, Any] | None = None, templater: Callable[[str], str] | None | bool = True,
) -> tuple[pl.DataFrame, dict[str, Any]]:  # fmt: skip
    """Answer every row of ``requests`` (needs ``prompt_id`` and ``user_message``; rows whose
    ``answer_source`` is not ``teacher`` -- ``gold``, ``demo_labels`` -- take their ``gold``
    column instead of the teacher).

    Returns ``requests`` + prompt, key, response, token counts, finish_reason, engine, flag,
    cache_hit; and run stats. Only keys missing from the cache reach the teacher.
    """
    sampling = teacher.sampling_for(corpus)
    ident = identity if identity is not None else teacher_identity(teacher)
    label = identity_label(ident)
    template = templater_for(teacher) if templater is True else (templater or None)
    prompts = [template(m) if template else m for m in requests["user_message"].to_list()]
    gold_mask = (
        (requests["answer_source"] != "teacher").to_list()
        if "answer_source" in requests.columns
        else [False] * requests.height
    )
    keys = [_gold_key(p) if g else cache_key(ident, sampling, p) for p, g in zip(prompts, gold_mask)]
    req = requests.with_columns(
        pl.Series("prompt", prompts, dtype=pl.Utf8),
        pl.Series("key", keys, dtype=pl.Utf8),
        pl.Series("_gold", gold_mask, dtype=pl.Boolean),
    )
    teacher_rows = req.filter(~pl.col("_gold"))
    unique = teacher_rows.unique("key", keep="first", maintain_order=True)
    cache = TeacherCache(Path(cache_root) / corpus)
    stale = cache.remove_stale_temp_files()
    cache.verify()
    before = cache.lookup(unique["key"].to_list())
    hit_keys = set(before["key"].to_list())
    missing = unique.filter(~pl.col("key").is_in(list(hit_keys))).select(
        "key", "prompt", pl.col("key").map_elements(row_seed, return_dtype=pl.Int64).alias("seed")
    )
    log.info(
        "%s: %d rows, %d teacher prompts (%d unique), %d cached, %d to generate",
        corpus, req.height, teacher_rows.height, unique.height, len(hit_keys), missing.height,
    )  # fmt: skip
    from sentidistill.teacher.runner import generate_missing

    counters = generate_missing(
        missing, teacher, sampling, cache, parse_special=template is not None, engine_label=label, desc=corpus
    )
    answers = cache.lookup(unique["key"].to_list())
    failed = counters.failed
    if answers.height + len(failed) != unique.height:
        raise RuntimeError(  # a shard vanished or was set aside while this run wrote it
            f"{unique.height - answers.height - len(failed)} rows have no answer after generation: "
            f"check {cache.root} (see the warnings above) and rerun"
        )
    if failed:
        answers = pl.concat([answers, pl.DataFrame({
            "key": list(failed), "response": [""] * len(failed), "n_prompt_tokens": [0] * len(failed),
            "n_completion_tokens": [0] * len(failed), "finish_reason": ["error"] * len(failed),
            "engine": [label] * len(failed),
        }, schema=answers.schema)])  # fmt: skip
    gold_rows = req.filter(pl.col("_gold"))
    if "gold" not in gold_rows.columns:
        gold_rows = gold_rows.with_columns(pl.lit(None, dtype=pl.Utf8).alias("gold"))
    gold = gold_rows.select(
        "key",
        pl.col("gold").fill_null("").alias("response"),
        pl.lit(0, dtype=pl.Int64).alias("n_prompt_tokens"),
        pl.lit(0, dtype=pl.Int64).alias("n_completion_tokens"),
        pl.lit("stop").alias("finish_reason"),
        pl.col("answer_source").alias("engine")
        if "answer_source" in gold_rows.columns
        else pl.lit("gold").alias("engine"),
    )
    answers = pl.concat([answers, gold]).unique("key", keep="first", maintain_order=True)
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
        .drop("_gold")
    )
    n_dup = teacher_rows.height - unique.height
    stats = {
        "rows": req.height,
        "teacher_rows": teacher_rows.height,
        "gold_rows": req.height - teacher_rows.height,
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
        if len(failed) > teacher.max_failed_rows:
            first = next(iter(failed.values()))
            raise TeacherRowsFailed(
                f"{len(failed)} of {unique.height} teacher prompts failed (first: {first[:300]}); their answers are "
                f"not cached, the other {answers.height - len(failed)} are. Rerun to retry only the failed rows, or "
                f"allow up to N failures with teacher.max_failed_rows (now {teacher.max_failed_rows}).",
                stats,
            )
        log.warning(
            "%s: %d rows failed at the teacher; they stay in the corpus flagged teacher_error", corpus, len(failed)
        )
    return out, stats


def _gold_key(prompt: str) -> str:
    return hashlib.sha256(("gold\x1f" + prompt).encode("utf-8")).hexdigest()


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
        pl.when(hit).then(pl.lit("label_balance")).otherwise(pl.col("exclude_reason")).alias("exclude_reason"),
        (pl.col("keep") & ~hit).alias("keep"),
    )


def apply_policy(
    df: pl.DataFrame, exclude: Sequence[str], max_label_share: float | None = None
) -> tuple[pl.DataFrame, dict[str, Any]]:
    """Add ``keep`` and ``exclude_reason`` (the first reason of ``exclude`` that applies):
    ``empty``/``truncated`` from ``flag``, ``parse_failed`` from a non-null ``parse_error``;
    then, with ``max_label_share``, ``label_balance`` (:func:`balance_labels`)."""
    # label_balance comes from max_label_share; teacher_error always applies (no answer)
    listable = [r for r in EXCLUDE_REASONS if r not in ("label_balance", "teacher_error")]
    bad = [r for r in exclude if r not in listable]
    if bad:
        raise ValueError(f"unknown exclusion reasons {bad}; allowed: {listable} (label balance: max_label_share)")
    exclude = ["teacher_error", *exclude]
    expr = pl.lit(None, dtype=pl.Utf8)
    for reason in reversed([r for r in EXCLUDE_REASONS if r in exclude]):
        cond = pl.col("parse_error").is_not_null() if reason == "parse_failed" else pl.col("flag") == reason
        if reason == "parse_failed" and "parse_error" not in df.columns:
            continue
        expr = pl.when(cond).then(pl.lit(reason)).otherwise(expr)
    out = df.with_columns(expr.alias("exclude_reason")).with_columns(pl.col("exclude_reason").is_null().alias("keep"))
    reasons = list(exclude)
    if max_label_share is not None:
        out = balance_labels(out, max_label_share)
        reasons.append("label_balance")
    excluded = {r: int((out["exclude_reason"] == r).sum()) for r in EXCLUDE_REASONS if r in reasons}
    kept = int(out["keep"].sum())
    if kept + sum(excluded.values()) != out.height:  # pragma: no cover - by construction
        raise AssertionError("exclusion accounting does not add up")
    policy = {"policy": list(exclude[1:]), "kept": kept, "excluded": excluded}
    if max_label_share is not None:
        policy["max_label_share"] = max_label_share
    return out, policy
