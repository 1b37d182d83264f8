"""Wall time of the main job (`dvc repro` on the default CPU configuration), per stage.

Runs `dvc repro` (extra arguments pass through), stamps every "Running stage" line and
writes bench/results/main_job.json: seconds per stage, the total, the goal (60 minutes on
the 2-core machine, issue #11), the CPU model and flags (``avx512_bf16`` or not), the precision
each stage used (read back from its metrics), the load average before/after (a busy machine inflates every
figure) and the stages DVC skipped as unchanged. `--fresh` first moves every resume store aside
(the row-level teacher cache, and .cache/: training checkpoints, finished SentiBench
evaluation chunks, classifier checkpoints) to tmp/fresh-bak-<time>/ (git-ignored), so the
teacher, the trainers and the evaluations start from nothing as on a first run. Use it with
`-- -f` (force every stage) for a from-scratch time. ``--fp32-training`` then also times the
precision-dependent stages (the two SFT stages) on the fp32 path, as a CPU without native bf16
runs them (outside DVC, into tmp/; the pipeline's outputs are untouched).

    .venv/bin/python -m bench.main_job [--fresh] [--fp32-training] [-- <dvc repro args>]
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
from sentidistill.io import write_text  # noqa: E402

GOAL_SECONDS = 60 * 60
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


def stage_precisions(root: Path = ROOT) -> dict[str, str]:
    """What numeric precision each precision-dependent stage ran with (from its metrics)."""
    import json

    out: dict[str, str] = {}
    for stage in ("knowdist", "icldist"):
        p = root / "stats" / "training" / f"{stage}.json"
        if p.is_file():
            prec = json.loads(p.read_text()).get("precision") or {}
            out[f"train_{stage}"] = f"{prec.get('used', '?')} ({prec.get('requested', '?')}: {prec.get('reason', '')})"
    for p in sorted((root / "stats" / "sentibench").glob("*.json")):
        eng = json.loads(p.read_text()).get("engine") or {}
        if eng:
            out[f"sentibench_eval@{p.stem}"] = f"{eng.get('backend')} {eng.get('dtype', 'GGUF as shipped')}"
    return out


def fp32_training_seconds(root: Path = ROOT) -> dict[str, float]:
    """Both SFT stages again with ``precision: fp32`` (the path of a CPU without native bf16),
    on the pipeline's own corpora, written under tmp/fp32-bench/ (DVC outputs untouched)."""
    from sentidistill.training.config import load_training_params
    from sentidistill.training.run import run_stage

    cfg = load_training_params()
    cfg = cfg.model_copy(
        update={s: getattr(cfg, s).model_copy(update={"precision": "fp32"}) for s in ("knowdist", "icldist")}
    )
    tmp = root / "tmp" / "fp32-bench"
    shutil.rmtree(tmp, ignore_errors=True)
    models = tmp / "models"
    models.mkdir(parents=True)
    for entry in (root / "models").iterdir():  # the base student and anything else a stage reads
        if not entry.name.startswith("student-"):
            (models / entry.name).symlink_to(entry.resolve())
    out = {}
    for stage in ("knowdist", "icldist"):
        t0 = time.perf_counter()
        m = run_stage(
            stage, cfg, models_dir=models, cache_dir=tmp / "cache", plots_dir=tmp / "plots", metrics_dir=tmp / "metrics"
        )
        out[f"train_{stage}"] = round(time.perf_counter() - t0, 1)
        out[f"train_{stage}_precision"] = (m.get("precision") or {}).get("used")
    return out


def add_fp32_training(name: str) -> int:
    """Time the fp32 SFT stages after a main-job run and record them in its result file."""
    import json

    from bench._common import RESULTS

    path = RESULTS / f"{name}.json"
    result = json.loads(path.read_text())
    load_before = os.getloadavg()
    fp32 = fp32_training_seconds()
    stages = result["measured"]["stage_seconds"]
    delta = sum(fp32[k] - stages.get(k, 0.0) for k in ("train_knowdist", "train_icldist"))
    result["fp32_training"] = {
        **fp32,
        "load_average_before": [round(x, 2) for x in load_before],
        "how": "bench.main_job --fp32-only: both SFT stages again, precision fp32, same corpora",
    }
    result["total_seconds_with_fp32_training"] = round(result["measured"]["total_seconds"] + delta, 1)
    write_text(path, json.dumps(result, indent=2, sort_keys=True) + "\n")
    print(
        f"fp32 training {fp32}; whole DAG with fp32 training: {result['total_seconds_with_fp32_training']} s -> {path}"
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--fresh", action="store_true", help="move the teacher cache and .cache/ (checkpoints, eval chunks) aside first"
    )
    ap.add_argument("--result-name", default="main_job", help="bench/results/<name>.json")
    ap.add_argument("--fp32-training", action="store_true", help="also time both SFT stages with precision fp32")
    ap.add_argument(
        "--fp32-only",
        action="store_true",
        help="only time the fp32 SFT stages and add them to an existing bench/results/<name>.json",
    )
    ap.add_argument("dvc_args", nargs="*", help="extra `dvc repro` arguments (after --)")
    args = ap.parse_args(argv)
    if args.fp32_only:
        return add_fp32_training(args.result_name)
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
    from sentidistill.precision import cpu_flags

    flags = cpu_flags()
    fp32 = fp32_training_seconds() if args.fp32_training and rc == 0 else None
    fp32_total = None
    if fp32:
        delta = sum(fp32[k] - stages.get(k, 0.0) for k in ("train_knowdist", "train_icldist"))
        fp32_total = round(total + delta, 1)
        print(f"fp32 training: {fp32}; total with fp32 training: {fp32_total} s")
    write_result(
        args.result_name,
        measured={
            "total_seconds": total,
            "stage_seconds": stages,
            "stage_order": [n for n, _ in starts],
            "exit_code": rc,
        },
        baseline={"goal_seconds": GOAL_SECONDS},
        ratio=round(total / GOAL_SECONDS, 3),
        ratio_note="total wall time / the 60-minute goal (<= 1 meets it)",
        cpu_flags={f: f in flags for f in ("avx2", "avx512f", "avx512_bf16", "amx_bf16")},
        precision_per_stage=stage_precisions(),
        fp32_training=fp32,
        total_seconds_with_fp32_training=fp32_total,
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
