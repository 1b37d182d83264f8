"""Stage `teacher_generate@{knowdist,icldist}`: the teacher answers a prompt table.

    python -m sentidistill.stages.teacher_generate knowdist|icldist [--prompts FILE] [--out-dir DIR] [--cache-dir DIR] [--metrics FILE]

Only rows whose cache key is missing from ``data/teacher_cache/<corpus>/`` reach the
teacher; killing the stage and rerunning it regenerates nothing that finished. Each corpus
is a teacher task of its area (:data:`TASKS`), run by :func:`sentidistill.teacher.task.run_task`.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from sentidistill.icldist.formats import FormatParams
from sentidistill.icldist.task import ICLDistPolicyParams, ICLDistTask
from sentidistill.knowdist.task import KnowDistTask
from sentidistill.params import load_section
from sentidistill.paths import DATA, ROOT, STATS
from sentidistill.teacher.config import PolicyParams, TeacherParams
from sentidistill.teacher.generate import TeacherRowsFailed
from sentidistill.teacher.resolve import resolve_teacher
from sentidistill.teacher.runner import TeacherRunError
from sentidistill.teacher.task import TeacherTask, run_task


def _knowdist() -> TeacherTask:
    return KnowDistTask(load_section("knowdist.policy", PolicyParams).exclude)


def _icldist() -> TeacherTask:
    policy = load_section("icldist.policy", ICLDistPolicyParams)
    return ICLDistTask(load_section("icldist.formats", FormatParams), policy.exclude, policy.max_label_share)


#: corpus -> its task, built from its params.yaml groups
TASKS: dict[str, Callable[[], TeacherTask]] = {"knowdist": _knowdist, "icldist": _icldist}


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    teacher = load_section("teacher", TeacherParams)
    parser = argparse.ArgumentParser(description="Teacher generation of a distillation corpus.")
    parser.add_argument("corpus", choices=list(TASKS))
    parser.add_argument("--prompts", type=Path, default=None, help="default: data/<corpus>/<corpus>_prompts.parquet")
    parser.add_argument("--out-dir", type=Path, default=None, help="default: data/<corpus>")
    parser.add_argument("--cache-dir", type=Path, default=ROOT / teacher.cache.dir)
    parser.add_argument("--metrics", type=Path, default=None, help="default: stats/teacher_<corpus>.json")
    args = parser.parse_args(argv)
    c = args.corpus
    task = TASKS[c]()
    try:
        return run_task(
            task,
            resolve_teacher(teacher),
            args.prompts or DATA / c / f"{c}_prompts.parquet",
            args.out_dir or DATA / c,
            args.cache_dir,
            args.metrics or STATS / f"teacher_{c}.json",
        )
    except (TeacherRowsFailed, TeacherRunError) as exc:
        raise SystemExit(f"teacher_generate@{c}: {exc}") from None


if __name__ == "__main__":
    main()
