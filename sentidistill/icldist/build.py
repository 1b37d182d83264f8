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
    demo_pools,
    icl_prompt_for,
    parse_answer,
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
    )


def build_icl_prompts(
    pool: pl.DataFrame, demo_labels: pl.DataFrame, natinst_dir: Path, formats: FormatParams,
    params: ICLPromptParams, natinst: NatInstParams,
) -> tuple[pl.DataFrame, dict[str, Any]]:  # fmt: skip
    """The ICLDist prompt table (columns :data:`ICL_PROMPT_COLUMNS`) and counts.

    Target texts are ICLDist pool texts in pool_rank order that are not demo texts and
    fit ``max_text_chars``; each gets one prompt (its task drawn by the mixture).
    """
    n_icl, n_nat = params.quotas()
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
    pools = demo_pools(demo_labels, formats)
    rows = []
    for r in targets.iter_rows(named=True):
        row = icl_prompt_for(r["id"], r["normalized"], task_of(r["id"], params), formats, params, pools)
        rows.append({**row, "domain": r["domain"], "answer_source": "teacher", "gold": None})
    icl = pl.DataFrame(rows, schema=ICL_PROMPT_COLUMNS) if rows else pl.DataFrame(schema=ICL_PROMPT_COLUMNS)
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
        **nat_stats,
    }
    return icl, stats
