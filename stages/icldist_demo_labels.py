"""Stage `icldist_demo_labels`: the teacher labels a small pool of ICLDist texts zero-shot
(sentiment; emotion per taxonomy); the labels become the demonstrations of ICLDist prompts.

    python -m sentidistill.stages.icldist_demo_labels [--pool FILE] [--out FILE] [--cache-dir DIR] [--metrics FILE]
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sentidistill.icldist.formats import FormatParams
from sentidistill.icldist.prompts import DemoLabelParams
from sentidistill.icldist.run import run_demo_labels
from sentidistill.params import load_section
from sentidistill.paths import CORPUS_DATA, DATA, ROOT, STATS
from sentidistill.teacher.config import TeacherParams
from sentidistill.teacher.resolve import resolve_teacher


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    teacher = load_section("teacher", TeacherParams)
    parser = argparse.ArgumentParser(description="Teacher zero-shot labels of the ICLDist demo texts.")
    parser.add_argument("--pool", type=Path, default=CORPUS_DATA / "icldist_pool.parquet")
    parser.add_argument("--out", type=Path, default=DATA / "icldist" / "demo_labels.parquet")
    parser.add_argument("--cache-dir", type=Path, default=ROOT / teacher.cache.dir)
    parser.add_argument("--stats", "--metrics", dest="metrics", type=Path, default=STATS / "icldist_demo_labels.json")
    args = parser.parse_args(argv)
    formats = load_section("icldist.formats", FormatParams)
    params = load_section("icldist.demo_labels", DemoLabelParams)
    return run_demo_labels(resolve_teacher(teacher), formats, params, args.pool, args.out, args.cache_dir, args.metrics)


if __name__ == "__main__":
    main()
