"""The shape of a teacher task, and the one runner of a teacher corpus (``teacher_generate@<corpus>``).

The teacher service (:mod:`sentidistill.teacher`) knows no task. A task -- owned by its area
(``KnowDistTask`` in ``knowdist/task.py``, ``ICLDistTask`` in ``icldist/task.py``) -- says what
its rows ask and what their answers mean, the way distilabel splits a task into
``format_input`` / ``format_output``:

* ``format_input(prompts)``: its prompt table -> requests (``prompt_id``, ``user_message``,
  any columns to keep);
* ``own_answers(requests)``: the rows it answers itself (:data:`~sentidistill.teacher.generate.OwnAnswers`),
  or None;
* ``format_output(answered)``: the answered table -> parsed table + parse stats;
* ``policy(table)``: ``keep`` / ``exclude_reason`` + policy stats (:mod:`sentidistill.teacher.policy`).

:func:`run_task` reads the prompt table, asks the teacher (resolved once by the stage,
:func:`sentidistill.teacher.resolve.resolve_teacher`), applies the task and writes
``<out_dir>/<name>_corpus.parquet`` (deterministic: identical after a resumed and an
uninterrupted run), ``<out_dir>/<name>_cache_hits.parquet`` (which rows this run took from
the cache) and the stats JSON. A new corpus plugs in as a task in its area, registered by
the stage; other teacher work (labels, scores) calls ``generate_table`` / ``score_table`` itself.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

import pandera.polars as pa
import polars as pl

from sentidistill.headline import write_stats
from sentidistill.io import read_parquet, write_parquet
from sentidistill.log import get_logger
from sentidistill.schemas.teacher import CACHE_HITS
from sentidistill.teacher.generate import TeacherRowsFailed, generate_table
from sentidistill.teacher.resolve import ResolvedTeacher

log = get_logger(__name__)


class TeacherTask(Protocol):
    """A kind of teacher corpus (see the module docstring)."""

    #: the corpus: output file stem, cache namespace and ``teacher.sampling`` entry
    name: str
    prompt_schema: pa.DataFrameSchema
    corpus_schema: pa.DataFrameSchema

    def format_input(self, prompts: pl.DataFrame) -> pl.DataFrame: ...

    def own_answers(self, requests: pl.DataFrame) -> pl.DataFrame | None: ...

    def format_output(self, answered: pl.DataFrame) -> tuple[pl.DataFrame, dict[str, Any]]: ...

    def policy(self, table: pl.DataFrame) -> tuple[pl.DataFrame, dict[str, Any]]: ...


def run_task(
    task: TeacherTask,
    teacher: ResolvedTeacher,
    prompts_path: Path,
    out_dir: Path,
    cache_root: Path,
    metrics_path: Path,
) -> dict[str, Any]:
    """Prompt table -> validated corpus, cache-hit record and stats (``{"corpus", **teacher,
    **parse, **policy}``). When more rows fail at the teacher than allowed, only the stats are
    written (``status: failed``, which rows and why) and :class:`TeacherRowsFailed` is raised."""
    name = task.name
    requests = task.format_input(read_parquet(prompts_path, task.prompt_schema))
    try:
        table, gen_stats = generate_table(requests, teacher, name, cache_root, own_answers=task.own_answers)
    except TeacherRowsFailed as exc:  # the corpus is not written; the stats say which rows and why
        write_stats(metrics_path, {"corpus": name, "status": "failed", **exc.stats})
        raise
    table, parse_stats = task.format_output(table)
    table, policy_stats = task.policy(table)
    hits = table.select("prompt_id", "key", "cache_hit")
    out = table.select(list(task.corpus_schema.columns))
    write_parquet(out, out_dir / f"{name}_corpus.parquet", task.corpus_schema)
    write_parquet(hits, out_dir / f"{name}_cache_hits.parquet", CACHE_HITS)
    stats = {"corpus": name, **gen_stats, **parse_stats, **policy_stats}
    write_stats(metrics_path, stats)
    log.info(
        "%s corpus: %d rows (%d cache hits, %d generated), kept %d -> %s",
        name,
        out.height,
        gen_stats["cache_hits"],
        gen_stats["generated"],
        policy_stats["kept"],
        out_dir,
    )
    return stats
