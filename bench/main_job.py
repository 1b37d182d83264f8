"""Wall time of the main job (`dvc repro` on the default CPU configuration), per stage.

Runs `dvc repro` (extra arguments pass through), stamps every "Running stage" line and
writes bench/results/main_job.json: seconds per stage, the total, the goal (45 minutes on
the 2-core machine, issue #5), the load average before/after (a busy machine inflates every
figure) and the stages DVC skipped as unchanged. `--fresh` first moves every resume store aside
(the row-level teacher cache, and .cache/: training checkpoints, finished SentiBench
evaluation chunks, classifier checkpoints) to tmp/fresh-bak-<time>/ (git-ignored), so the
teacher, the trainers and the evaluations start from nothing as on a first run. Use it with
`-- -f` (force every stage) for a from-scratch time.

    .venv/bin/python -m bench.main_job [--fresh] [-- <dvc repro args>]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench._common import write_result  # noqa: E402

GOAL_SECONDS = 45 * 60
FRESH_DIRS = ("data/teacher_cache", ".cache")
_RUNNING = re.compile(r"Running stage '([^']+)'")
_SKIPPED = re.compile(r"Stage '([^']+)' didn't change, skipping")


def _move_aside(paths: tuple[str, ...]) -> list[str]:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    moved = []
    for rel in paths:
        p = ROOT / rel
        if p.exists():
            dest = ROOT / "tmp" / f"fresh-bak-{stamp}" / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(str(p), str(dest))
            moved.append(f"{rel} -> {dest.relative_to(ROOT)}")
    return moved


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fresh", action="store_true", help="move the teacher cache and .cache/ (checkpoints, eval chunks) aside first")
    ap.add_argument("--result-name", default="main_job", help="bench/results/<name>.json")
    ap.add_argument("dvc_args", nargs="*", help="extra `dvc repro` arguments (after --)")
    args = ap.parse_args(argv)
    moved = _move_aside(FRESH_DIRS) if args.fresh else []
    env = {**os.environ, "PATH": f"{ROOT / '.venv' / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}"}
    cmd = [str(ROOT / ".venv" / "bin" / "dvc"), "repro", *args.dvc_args]
    load_before = os.getloadavg()
    starts: list[tuple[str, float]] = []
    skipped: list[str] = []
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert proc.stdout is not None
    for line in proc.stdout:
        sys.stdout.write(line)
        sys.stdout.flush()
        if m := _RUNNING.search(line):
            starts.append((m.group(1), time.perf_counter()))
        elif m := _SKIPPED.search(line):
            skipped.append(m.group(1))
    rc = proc.wait()
    end = time.perf_counter()
    stages = {
        name: round((starts[i + 1][1] if i + 1 < len(starts) else end) - t, 1) for i, (name, t) in enumerate(starts)
    }
    total = round(end - t0, 1)
    print(f"\n{'stage':<45}{'seconds':>10}")
    for name, s in stages.items():
        print(f"{name:<45}{s:>10.1f}")
    print(f"{'total (dvc repro)':<45}{total:>10.1f}   goal {GOAL_SECONDS} s, exit code {rc}")
    write_result(
        args.result_name,
        measured={"total_seconds": total, "stage_seconds": stages, "stage_order": [n for n, _ in starts], "exit_code": rc},
        baseline={"goal_seconds": GOAL_SECONDS},
        ratio=round(total / GOAL_SECONDS, 3),
        ratio_note="total wall time / the 45-minute goal (<= 1 meets it)",
        command=" ".join(["dvc", "repro", *args.dvc_args]),
        fresh=args.fresh,
        moved_aside=moved,
        skipped_unchanged=skipped,
        load_average_before=[round(x, 2) for x in load_before],
        load_average_after=[round(x, 2) for x in os.getloadavg()],
    )
    return rc


if __name__ == "__main__":
    raise SystemExit(main())
