"""Stage `teacher_generate@{knowdist,icldist}`: the teacher answers a prompt table.

    python -m stages.teacher_generate knowdist|icldist [--prompts FILE] [--out-dir DIR] [--cache-dir DIR] [--metrics FILE]

Only rows whose cache key is missing from ``data/teacher_cache/<corpus>/`` reach the
teacher; killing the stage and rerunning it regenerates nothing that finished.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sentidistill.icldist.formats import FormatParams
from sentidistill.params import load_section
from sentidistill.paths import DATA, ROOT, STATS
from sentidistill.teacher.config import PolicyParams, TeacherParams
from sentidistill.teacher.corpus import TeacherRowsFailed
from sentidistill.teacher.run import CORPORA, run_teacher_generate
from sentidistill.teacher.runner import TeacherRunError


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    teacher = load_section("teacher", TeacherParams)
    parser = argparse.ArgumentParser(description="Teacher generation of a distillation corpus.")
    parser.add_argument("corpus", choices=CORPORA)
    parser.add_argument("--prompts", type=Path, default=None, help="default: data/<corpus>/<corpus>_prompts.parquet")
    parser.add_argument("--out-dir", type=Path, default=None, help="default: data/<corpus>")
    parser.add_argument("--cache-dir", type=Path, default=ROOT / teacher.cache.dir)
    parser.add_argument("--metrics", type=Path, default=None, help="default: metrics/teacher_<corpus>.json")
    args = parser.parse_args(argv)
    c = args.corpus
    policy = load_section(f"{c}.policy", PolicyParams)
    formats = load_section("icldist.formats", FormatParams) if c == "icldist" else None
    try:
        return _run(c, args, teacher, policy, formats)
    except (TeacherRowsFailed, TeacherRunError) as exc:
        raise SystemExit(f"teacher_generate@{c}: {exc}") from None


def _run(c: str, args: argparse.Namespace, teacher: TeacherParams, policy: PolicyParams,
         formats: FormatParams | None) -> dict[str, Any]:  # fmt: skip
    return run_teacher_generate(
        c,
        teacher,
        policy.exclude,
        args.prompts or DATA / c / f"{c}_prompts.parquet",
        args.out_dir or DATA / c,
        args.cache_dir,
        args.metrics or STATS / f"teacher_{c}.json",
        formats,
        policy.max_label_share,
    )


if __name__ == "__main__":
    main()
