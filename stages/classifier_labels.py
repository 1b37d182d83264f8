"""Stage `classifier_labels`: the teacher labels a sample of clean corpus texts (disjoint from
the KnowDist/ICLDist pools) with a one-sentence rationale and a label in JSON; unparseable
answers are kept with their raw output and counted; optional soft labels.

    python -m sentidistill.stages.classifier_labels [--clean FILE] [--pool FILE ...] [--out FILE] [--cache-dir DIR] [--metrics FILE]
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sentidistill.classifier.config import LabelParams
from sentidistill.classifier.labels import run_labels
from sentidistill.params import load_section
from sentidistill.paths import CORPUS_DATA, DATA, ROOT, STATS
from sentidistill.teacher.config import TeacherParams
from sentidistill.teacher.resolve import resolve_teacher


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    teacher = load_section("teacher", TeacherParams)
    parser = argparse.ArgumentParser(description="Teacher labels (rationale + label, JSON) for the classifier student.")
    parser.add_argument("--clean", type=Path, default=CORPUS_DATA / "corpus_clean.parquet")
    parser.add_argument(
        "--pool",
        type=Path,
        action="append",
        default=None,
        help="pools whose texts are excluded (default: the KnowDist and ICLDist pools)",
    )
    parser.add_argument("--out", type=Path, default=DATA / "classifier" / "teacher_labels.parquet")
    parser.add_argument("--cache-dir", type=Path, default=ROOT / teacher.cache.dir)
    parser.add_argument("--stats", "--metrics", dest="metrics", type=Path, default=STATS / "classifier_labels.json")
    args = parser.parse_args(argv)
    params = load_section("classifier.labels", LabelParams)
    pools = (
        args.pool
        if args.pool is not None
        else [CORPUS_DATA / "knowdist_pool.parquet", CORPUS_DATA / "icldist_pool.parquet"]
    )
    return run_labels(
        resolve_teacher(teacher),
        params,
        clean_path=args.clean,
        pool_paths=pools,
        out_path=args.out,
        cache_root=args.cache_dir,
        metrics_path=args.metrics,
    )


if __name__ == "__main__":
    main()
