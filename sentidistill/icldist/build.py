"""Assemble the ICLDist prompt table: sentiment/emotion ICL prompts + SNI prompts, and
the demo-label table from the teacher's zero-shot answers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl

from sentidistill.icldist.formats import FormatParams
from sentidistill.icldist.natinst import NatInstParams, build_natinst_prompts
from sentidistill.icldist.prompts import (
    ICL_PROMPT_COLUMNS,
    ICLPromptParams,
    _render,
    demo_pools,
    icl_prompt_for,
    parse_answer,
    seed_of,
    seeded_rng,
    task_of,
)


def parse_demo_labels(generated: pl.DataFrame, formats: FormatParams) -> pl.DataFrame:
    """Demo-label table: the teacher's zero-shot answer of each (text, task, label set),
    parsed to canonical labels (sentiment: positive/negative/neutral) or a ``parse_error``."""
    labels: list[list[str]] = []
    errors: list[str | None] = []
    for r in generated.iter_rows(named=True):
        if r["flag"] is not None and r["flag"] != "truncated":  # empty responses
            labels.append([])
            errors.append("empty")
            continue
        p = parse_answer(r["task"], r["label_set"], r["response"], formats)
        if r["task"] == "sentiment" and p.ok:
            labels.append([formats.to_canonical(p.labels[0], r["label_set"])])
        else:
            labels.append(list(p.labels) if p.ok else [])
        errors.append(p.error)
    return generated.select(
        "prompt_id", "text_id", "domain", "text", "task", "label_set", "response", "finish_reason"
    ).with_columns(
        pl.Series("labels", labels, dtype=pl.List(pl.Utf8)),
        pl.Series("parse_error", errors, dtype=pl.Utf8),
        pl.lit(None, dtype=pl.List(pl.Float64)).alias("label_logprobs"),
    )


def scored_demo_labels(scored: pl.DataFrame, formats: FormatParams) -> pl.DataFrame:
    """Demo-label table from the teacher's label scores (:func:`sentidistill.teacher.scoring.score_table`):
    the argmax label (sentiment: canonical), its distribution kept in ``label_logprobs``
    (candidate order: the label set's order), ``response`` = the chosen label word."""
    chosen = [c[max(range(len(sc)), key=sc.__getitem__)] for c, sc in zip(scored["candidates"], scored["scores"])]
    labels = [
        [formats.to_canonical(w, ls)] if t == "sentiment" else [w]
        for w, t, ls in zip(chosen, scored["task"], scored["label_set"])
    ]
    return scored.select(
        "prompt_id",
        "text_id",
        "domain",
        "text",
        "task",
        "label_set",
        pl.Series("response", chosen, dtype=pl.Utf8),
        pl.lit("label_scores").alias("finish_reason"),
        pl.Series("labels", labels, dtype=pl.List(pl.Utf8)),
        pl.lit(None, dtype=pl.Utf8).alias("parse_error"),
        pl.col("scores").alias("label_logprobs"),
    )


def build_icl_prompts(
    pool: pl.DataFrame,
    demo_labels: pl.DataFrame,
    natinst_dir: Path,
    formats: FormatParams,
    params: ICLPromptParams,
    natinst: NatInstParams,
) -> tuple[pl.DataFrame, dict[str, Any]]:
    """The ICLDist prompt table (columns :data:`ICL_PROMPT_COLUMNS`) and counts.

    Target texts are ICLDist pool texts in pool_rank order that are not demo texts and
    fit ``max_text_chars``; each gets one prompt (its task drawn by the mixture).
    """
    n_icl, n_nat = params.quotas()
    pools = demo_pools(demo_labels, formats)
    if params.answer_source == "demo_labels":
        icl = recombined_prompts(demo_labels, formats, params, n_icl, pools=pools)
        return _with_natinst(icl, pool, demo_labels, pools, natinst_dir, params, natinst, n_nat, too_long=0)
    demo_ids = set(demo_labels["text_id"].to_list())
    ranked = pool.sort("pool_rank").filter(~pl.col("id").is_in(list(demo_ids)))
    too_long = 0
    if params.max_text_chars is not None:
        mask = ranked["normalized"].str.len_chars() > params.max_text_chars
        too_long = int(mask.sum())
        ranked = ranked.filter(~mask)
    targets = ranked.head(n_icl)
    if targets.height < n_icl:
        raise ValueError(
            f"ICLDist needs {n_icl} target texts but the pool has {targets.height} eligible: lower "
            "icldist.prompts.n_prompts or raise max_text_chars / corpus.pools.icldist_size"
        )
    rows = []
    for r in targets.iter_rows(named=True):
        row = icl_prompt_for(r["id"], r["normalized"], task_of(r["id"], params), formats, params, pools)
        rows.append({**row, "domain": r["domain"], "answer_source": "teacher", "gold": None})
    icl = pl.DataFrame(rows, schema=ICL_PROMPT_COLUMNS) if rows else pl.DataFrame(schema=ICL_PROMPT_COLUMNS)
    return _with_natinst(icl, pool, demo_labels, pools, natinst_dir, params, natinst, n_nat, too_long=too_long)


def recombined_prompts(
    demo_labels: pl.DataFrame,
    formats: FormatParams,
    params: ICLPromptParams,
    n_icl: int,
    *,
    pools: dict[tuple[str, str], list[tuple[str, tuple[str, ...]]]] | None = None,
) -> pl.DataFrame:
    """``n_icl`` ICL prompts whose query *and* demonstrations are teacher-labeled texts
    (``answer_source: demo_labels``): the answer is the query's own teacher label, so the
    prompts cost no teacher call. Tasks split by the mixture's sentiment:emotion weights;
    the j-th prompt of a task takes the j-th text of a seeded shuffle of its labeled texts
    (cycling when ``n_icl`` exceeds them), its demonstrations from the others."""
    ok = demo_labels.filter(pl.col("parse_error").is_null()).sort("text_id")
    pools = pools if pools is not None else demo_pools(demo_labels, formats)
    taxonomies = [t for t in formats.taxonomy_names() if ("emotion", t) in pools]
    m = params.mixture
    weight = {"sentiment": m.sentiment, "emotion": m.emotion if taxonomies else 0.0}
    total = sum(weight.values())
    if total <= 0:
        raise ValueError("icldist.prompts.answer_source: demo_labels needs sentiment or emotion demo labels and weight")
    n_sent = round(n_icl * weight["sentiment"] / total)
    rows = []
    for task, n in (("sentiment", n_sent), ("emotion", n_icl - n_sent)):
        if n == 0:
            continue
        queries = ok.filter(pl.col("task") == task)
        if task == "sentiment":
            queries = queries.filter(pl.col("label_set") == formats.basic_words)
        queries = queries.unique("text_id", keep="first", maintain_order=True)
        if queries.height < params.min_demos + 1:
            raise ValueError(
                f"answer_source demo_labels: {queries.height} labeled {task} texts, need > min_demos "
                f"({params.min_demos}): raise icldist.demo_labels.n_texts"
            )
        order = list(queries.iter_rows(named=True))
        seeded_rng("icldist-recombined", params.seed, task).shuffle(order)
        labels_of = {
            (r["text_id"], r["label_set"]): tuple(r["labels"])
            for r in ok.filter(pl.col("task") == task).iter_rows(named=True)
        }
        for j in range(n):
            q = order[j % len(order)]
            row = icl_prompt_for(
                q["text_id"],
                q["text"],
                task,
                formats,
                params,
                pools,  # type: ignore[arg-type]
                variant=j,
                taxonomies=taxonomies,
            )
            key = (q["text_id"], formats.basic_words if task == "sentiment" else row["label_set"])
            if key not in labels_of:  # this text has no label in the drawn taxonomy: take the next text
                continue
            answer = _render(task, row["label_set"], labels_of[key], formats)
            source = "teacher" if teacher_answers(row["prompt_id"], params) else "demo_labels"
            rows.append({**row, "domain": q["domain"], "answer_source": source, "gold": answer})
    return pl.DataFrame(rows, schema=ICL_PROMPT_COLUMNS) if rows else pl.DataFrame(schema=ICL_PROMPT_COLUMNS)


def teacher_answers(prompt_id: str, params: ICLPromptParams) -> bool:
    """Whether a recombined prompt goes to the teacher (``teacher_answer_share``): a seeded
    uniform draw per prompt id, so raising the share only adds prompts to the teacher's set."""
    if params.teacher_answer_share <= 0:
        return False
    return seed_of("icldist-teacher-share", params.seed, prompt_id) / 2**64 < params.teacher_answer_share


def _with_natinst(
    icl: pl.DataFrame,
    pool: pl.DataFrame,
    demo_labels: pl.DataFrame,
    pools: dict[tuple[str, str], list[tuple[str, tuple[str, ...]]]],
    natinst_dir: Path,
    params: ICLPromptParams,
    natinst: NatInstParams,
    n_nat: int,
    *,
    too_long: int,
) -> tuple[pl.DataFrame, dict[str, Any]]:
    """Append the SNI prompts to the ICL prompts and count both."""
    demo_ids = set(demo_labels["text_id"].to_list())
    nat_stats: dict[str, Any] = {}
    if n_nat:
        nat, nat_stats = build_natinst_prompts(natinst_dir, n_nat, natinst)
        nat = nat.with_columns(
            pl.lit("natinst").alias("domain"), pl.lit(natinst.answer_source).alias("answer_source")
        ).select(list(ICL_PROMPT_COLUMNS))
        icl = pl.concat([icl, nat])
    usable = {f"{t}/{s}": len(v) for (t, s), v in sorted(pools.items())}
    stats = {
        "pool_texts": pool.height,
        "demo_texts": len(demo_ids),
        "skipped_too_long": too_long,
        "prompts": icl.height,
        "by_task": dict(sorted(icl.group_by("task").len().iter_rows())),
        "by_format": dict(sorted(icl.group_by("format").len().iter_rows())),
        "usable_demos": usable,
        "mean_demos": round(float(icl.filter(pl.col("task") != "natinst")["n_demos"].mean() or 0.0), 3),
        "answer_source": params.answer_source,
        "by_answer_source": dict(sorted(icl.group_by("answer_source").len().iter_rows())),
        **nat_stats,
    }
    return icl, stats
