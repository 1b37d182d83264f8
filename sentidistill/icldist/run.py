"""Stage logic of ``icldist_demo_labels`` and ``icldist_prompts``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl

from sentidistill.headline import write_stats
from sentidistill.icldist.build import build_icl_prompts, parse_demo_labels, scored_demo_labels
from sentidistill.icldist.formats import FormatParams
from sentidistill.icldist.natinst import NatInstParams
from sentidistill.icldist.prompts import DemoLabelParams, ICLPromptParams, demo_label_requests, select_demo_texts
from sentidistill.io import read_parquet, write_parquet
from sentidistill.log import get_logger
from sentidistill.schemas.corpus import POOL
from sentidistill.schemas.teacher import DEMO_LABELS, ICLDIST_PROMPTS
from sentidistill.teacher.generate import generate_table
from sentidistill.teacher.resolve import ResolvedTeacher

log = get_logger(__name__)

DEMO_CORPUS = "icldist_demo_labels"


def run_demo_labels(
    teacher: ResolvedTeacher,
    formats: FormatParams,
    params: DemoLabelParams,
    pool_path: Path,
    out_path: Path,
    cache_root: Path,
    metrics_path: Path,
) -> dict[str, Any]:
    """The teacher labels ``n_texts`` pool texts zero-shot (sentiment; emotion per taxonomy):
    its greedy answers parsed (method ``generate``) or the argmax of its label scores (``score``),
    in the teacher cache namespace ``icldist_demo_labels``."""
    pool = read_parquet(pool_path, POOL)
    texts = select_demo_texts(pool, params)
    requests = demo_label_requests(texts, formats, params.taxonomies)
    if params.method == "score":
        from sentidistill.teacher.scoring import score_table

        scored, gen_stats = score_table(requests, teacher, DEMO_CORPUS, cache_root)
        labels = scored_demo_labels(scored, formats)
    else:
        generated, gen_stats = generate_table(requests.drop("candidates"), teacher, DEMO_CORPUS, cache_root)
        labels = parse_demo_labels(generated, formats)
    write_parquet(labels, out_path, DEMO_LABELS)
    usable = labels.filter(pl.col("parse_error").is_null())
    stats = {
        "method": params.method,
        "texts": texts.height,
        "requests": requests.height,
        "labeled": usable.height,
        "parse_failed": labels.height - usable.height,
        "parse_errors": dict(
            sorted(labels.filter(pl.col("parse_error").is_not_null()).group_by("parse_error").len().iter_rows())
        ),
        "usable_by_set": dict(
            sorted(usable.group_by(pl.concat_str("task", "label_set", separator="/")).len().iter_rows())
        ),
        "label_counts": {
            f"{t}/{ls}": dict(sorted(g.explode("labels").group_by("labels").len().iter_rows()))
            for (t, ls), g in sorted(usable.group_by("task", "label_set"), key=lambda x: x[0])
        },
        "teacher": gen_stats,
    }
    write_stats(metrics_path, stats)
    log.info("demo labels: %d/%d usable -> %s", usable.height, labels.height, out_path)
    return stats


def run_icldist_prompts(
    formats: FormatParams,
    params: ICLPromptParams,
    natinst: NatInstParams,
    pool_path: Path,
    demo_labels_path: Path,
    natinst_dir: Path,
    out_path: Path,
    metrics_path: Path,
) -> dict[str, Any]:
    pool = read_parquet(pool_path, POOL)
    labels = read_parquet(demo_labels_path, DEMO_LABELS)
    df, stats = build_icl_prompts(pool, labels, natinst_dir, formats, params, natinst)
    write_parquet(df, out_path, ICLDIST_PROMPTS)
    write_stats(metrics_path, stats)
    log.info("icldist prompts: %d -> %s", df.height, out_path)
    return stats
