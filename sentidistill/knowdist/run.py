"""Stage logic of ``knowdist_prompts``: KnowDist pool -> prompt table + counts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sentidistill.headline import write_stats
from sentidistill.io import read_parquet, write_parquet
from sentidistill.knowdist.prompts import KnowDistPromptParams, build_prompts
from sentidistill.log import get_logger
from sentidistill.schemas.corpus import POOL
from sentidistill.schemas.teacher import KNOWDIST_PROMPTS

log = get_logger(__name__)


def run_knowdist_prompts(
    params: KnowDistPromptParams, pool_path: Path, out_path: Path, metrics_path: Path
) -> dict[str, Any]:
    pool = read_parquet(pool_path, POOL)
    df, stats = build_prompts(pool, params)
    write_parquet(df, out_path, KNOWDIST_PROMPTS)
    stats["by_method"] = dict(sorted(df.group_by("method").len().iter_rows()))
    stats["by_perspective"] = dict(sorted(df.group_by("perspective").len().iter_rows()))
    stats["by_domain"] = dict(sorted(df.group_by("domain").len().iter_rows()))
    write_stats(metrics_path, stats)
    log.info("knowdist prompts: %d from %d texts -> %s", df.height, stats["texts"], out_path)
    return stats
