"""Fault injection against the tiny configuration: kills, concurrent writers, corrupt shards,
a flaky server, lost actors and nodes. Each fault runs the real stage code (the child
processes of the tests, the SmolLM2-135M teacher on llama.cpp), then the rerun a user would
do, and is judged against an uninterrupted run:

* rows expected / rows in the output;
* repeated engine calls: answers the engine produced again although one was already on disk
  (from the engine-call audit log, ``SENTIDISTILL_ENGINE_CALL_LOG``);
* lost rows: expected rows without an answer at the end;
* misaligned rows: answers that differ from the uninterrupted run's answer to the same prompt.

Plus the resume-divergence measurement: how often a batched engine (llama.cpp ``n_parallel``)
gives a prompt another greedy answer when the batch it sits in changes (as after a resume that
does not start at a batch boundary), against the batch-invariant setting ``n_parallel: 1``.

    python -m bench.faults [--only NAME ...]     # writes bench/results/faults.json
"""

from __future__ import annotations

import argparse
import errno
import hashlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl

from bench._common import write_result
from sentidistill.faults import ENGINE_CALL_LOG_ENV, FAILPOINT_ENV
from sentidistill.io import write_parquet
from sentidistill.paths import ROOT
from sentidistill.precision import cpu_flags
from sentidistill.teacher.cache import CORRUPT_DIR, TeacherCache

N = 24  # prompts per teacher fault
BATCH = 4  # rows per engine call
CHILD_TIMEOUT_S = 900
KILL_WAIT_S = 300
DIVERGENCE_PROMPTS = 48
DIVERGENCE_SHIFT = 2  # rows answered before the "resume": the later batches start mid-way


# --------------------------------------------------------------------------- children
def _env(work: Path, failpoint: str | None = None, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {**os.environ, ENGINE_CALL_LOG_ENV: str(work / "engine_calls.log"), **(extra or {})}
    env.pop(FAILPOINT_ENV, None)
    if failpoint:
        env[FAILPOINT_ENV] = failpoint
    return env


def teacher_child(
    work: Path,
    *,
    n: int = N,
    runner: str = "local",
    batch: int = BATCH,
    n_parallel: int = 1,
    restarts: int = 3,
    address: str = "",
    resources: str = "{}",
    failpoint: str | None = None,
    env: dict[str, str] | None = None,
) -> subprocess.Popen:
    work.mkdir(parents=True, exist_ok=True)
    args = [str(work), str(n), runner, str(batch), str(n_parallel), str(restarts), address, resources]
    return subprocess.Popen(
        [sys.executable, "-m", "tests.stages.teacher_child", *args],
        cwd=ROOT,
        env=_env(work, failpoint, env),
        stdout=subprocess.DEVNULL,
        stderr=open(work / "child.log", "ab"),
    )


def _wait(proc: subprocess.Popen) -> int:
    return proc.wait(timeout=CHILD_TIMEOUT_S)


def _calls(work: Path) -> Counter[str]:
    log = work / "engine_calls.log"
    return Counter(log.read_text().split()) if log.exists() else Counter()


def _sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest() if p.exists() else ""


def _wait_for_rows(work: Path, proc: subprocess.Popen, rows: int, namespace: str = "knowdist") -> None:
    cache = TeacherCache(work / "cache" / namespace)
    deadline = time.time() + KILL_WAIT_S
    while cache.stats()["rows"] < rows:
        if proc.poll() is not None or time.time() > deadline:
            raise RuntimeError(f"{work}: the run ended (or stalled) before the fault could be injected")
        time.sleep(0.05)


# --------------------------------------------------------------------------- judging
def judge_corpus(work: Path, reference: pl.DataFrame, *, expected: int = N, excused: int = 0) -> dict[str, Any]:
    """The row of a teacher fault: compare the final corpus with the uninterrupted one."""
    corpus_path = work / "out" / "knowdist_corpus.parquet"
    if not corpus_path.exists():
        return {
            "rows_expected": expected,
            "rows_in_output": 0,
            "repeated_engine_calls": None,
            "lost_rows": expected,
            "misaligned_rows": None,
            "outcome": "no corpus",
        }
    corpus = pl.read_parquet(corpus_path)
    ref = dict(zip(reference["key"], reference["response"]))
    answered = corpus.filter(pl.col("flag").is_null() | (pl.col("flag") != "teacher_error"))
    calls = _calls(work)
    repeated = sum(c - 1 for c in calls.values()) - excused
    misaligned = sum(1 for k, r in zip(answered["key"], answered["response"]) if ref.get(k) != r)
    lost = expected - answered.height
    return {
        "rows_expected": expected,
        "rows_in_output": corpus.height,
        "repeated_engine_calls": repeated,
        "lost_rows": lost,
        "misaligned_rows": misaligned,
        "byte_identical_to_uninterrupted": None,
        "outcome": "ok" if repeated == 0 and lost == 0 and misaligned == 0 else "FAIL",
    }


# --------------------------------------------------------------------------- faults
def fault_kill_mid_batch(root: Path, ref: Path) -> dict[str, Any]:
    work = root / "kill_mid_batch"
    proc = teacher_child(work)
    _wait_for_rows(work, proc, BATCH)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert _wait(teacher_child(work)) == 0
    return _teacher_row(work, ref, "SIGKILL from outside while the engine works on a batch")


def _kill_at(name: str, failpoint: str, note: str) -> Callable[[Path, Path], dict[str, Any]]:
    def run(root: Path, ref: Path) -> dict[str, Any]:
        work = root / name
        rc = _wait(teacher_child(work, failpoint=failpoint))
        if rc != -signal.SIGKILL:
            raise RuntimeError(f"{name}: failpoint {failpoint} not reached (rc {rc})")
        assert _wait(teacher_child(work)) == 0
        return _teacher_row(work, ref, note)

    return run


def _teacher_row(work: Path, ref: Path, note: str, **judge: Any) -> dict[str, Any]:
    reference = pl.read_parquet(ref / "out" / "knowdist_corpus.parquet")
    row = judge_corpus(work, reference, **judge)
    row["byte_identical_to_uninterrupted"] = _sha(work / "out" / "knowdist_corpus.parquet") == _sha(
        ref / "out" / "knowdist_corpus.parquet"
    )
    temps = [str(p.relative_to(work)) for p in work.rglob(".*.tmp")]
    row["orphaned_temp_files"] = len(temps)
    if temps or not row["byte_identical_to_uninterrupted"]:
        row["outcome"] = "FAIL"
    return {**row, "note": note}


def fault_two_writers(root: Path, ref: Path) -> dict[str, Any]:
    """Two processes on overlapping halves (rows 0-15 and 8-23) write one cache at once."""
    from tests.stages.teacher_child import overlapping_runs

    work = root / "two_writers"
    shared = work / "shared_cache"
    each = 2 * N // 3
    _, runs = overlapping_runs(work, N, each)
    procs = [teacher_child(w, n=each, batch=2) for w in runs]
    assert all(_wait(p) == 0 for p in procs)
    reference = pl.read_parquet(ref / "out" / "knowdist_corpus.parquet")
    refmap = dict(zip(reference["key"], reference["response"]))
    calls: Counter[str] = Counter()
    misaligned = rows = 0
    for w in runs:
        calls += _calls(w)
        corpus = pl.read_parquet(w / "out" / "knowdist_corpus.parquet")
        rows += corpus.height
        misaligned += sum(1 for k, r in zip(corpus["key"], corpus["response"]) if refmap.get(k) != r)
    cache = TeacherCache(shared / "knowdist")
    unsound = cache.verify(full=True)
    lost = N - cache.stats()["unique_keys"]
    repeated = sum(c - 1 for c in calls.values())
    elsewhere = sum(json.loads((w / "stats.json").read_text())["answered_elsewhere"] for w in runs)
    return {
        "rows_expected": 2 * each,
        "rows_in_output": rows,
        "repeated_engine_calls": repeated,
        "lost_rows": lost,
        "misaligned_rows": misaligned,
        "unsound_shards": len(unsound),
        "answered_elsewhere": elsewhere,
        "outcome": "ok"
        if not (repeated or lost or misaligned or unsound)
        else ("ok (race)" if not (lost or misaligned or unsound) else "FAIL"),
        "note": "two stage processes at once on overlapping prompt tables, one cache folder",
    }


def fault_corrupt_shard(root: Path, ref: Path) -> dict[str, Any]:
    work = root / "corrupt_shard"
    assert _wait(teacher_child(work)) == 0
    cache = TeacherCache(work / "cache" / "knowdist")
    victim = cache.shards()[1]
    rows_in_victim = pl.read_parquet(victim).height
    victim.write_bytes(victim.read_bytes()[: victim.stat().st_size // 2])  # truncated
    (work / "out" / "knowdist_corpus.parquet").unlink()
    assert _wait(teacher_child(work)) == 0
    stats = json.loads((work / "stats.json").read_text())
    row = _teacher_row(
        work, ref, "one cache shard truncated; its rows are regenerated, the shard is set aside", excused=rows_in_victim
    )
    kept = list((work / "cache" / "knowdist" / CORRUPT_DIR).iterdir())
    row.update(regenerated=stats["generated"], shard_rows=rows_in_victim, set_aside_files=len(kept))
    if stats["generated"] != rows_in_victim or len(kept) != 1:
        row["outcome"] = "FAIL"
    return row


def fault_flaky_server(root: Path, ref: Path) -> dict[str, Any]:
    """The OpenAI engine against a loopback server with 500/429/timeouts/cuts/malformed JSON."""
    from tests.stages import test_teacher_flaky_server as flaky
    from tests.support.openai_server import FakeOpenAIServer, answer_for

    work = root / "flaky_server"
    work.mkdir(parents=True)
    from tests.stages.teacher_child import make_prompts

    make_prompts(work / "prompts.parquet", flaky.N)
    with FakeOpenAIServer(plan=flaky._plan, timeout_delay_s=flaky.TIMEOUT_S * 4) as srv:
        first_failed = None
        try:
            flaky._run(work, flaky._teacher(srv))
        except Exception as exc:  # TeacherRowsFailed: the two rows that never succeed
            first_failed = getattr(exc, "stats", {}).get("failed_rows", {}).get("count")
        srv.set_plan(None)
        before = srv.attempts_by_prompt()
        flaky._run(work, flaky._teacher(srv))
        after = srv.attempts_by_prompt()
    corpus = pl.read_parquet(work / "out" / "knowdist_corpus.parquet")
    retried = {p for p in after if after[p] != before.get(p, 0)}
    misaligned = sum(1 for m, r in zip(corpus["user_message"], corpus["response"]) if answer_for(m) != r)
    repeated = len(retried) - (first_failed or 0)
    lost = flaky.N - corpus.filter(pl.col("flag").is_null()).height
    return {
        "rows_expected": flaky.N,
        "rows_in_output": corpus.height,
        "repeated_engine_calls": repeated,
        "lost_rows": lost,
        "misaligned_rows": misaligned,
        "failed_then_retried": first_failed,
        "outcome": "ok" if first_failed == len(flaky.NEVER) and not (repeated or lost or misaligned) else "FAIL",
        "note": "first run: 5 rows recover within the retries, 2 fail and are recorded; rerun retries only those 2",
    }


def _actor_kill(root: Path, ref: Path, restarts: int) -> dict[str, Any]:
    from tests.stages.test_teacher_ray_faults import actor_processes

    work = root / f"lost_actor_restarts{restarts}"
    proc = teacher_child(work, runner="ray", restarts=restarts)
    deadline = time.time() + KILL_WAIT_S
    while TeacherCache(work / "cache" / "knowdist").stats()["rows"] < BATCH or not actor_processes(proc.pid):
        if proc.poll() is not None or time.time() > deadline:
            raise RuntimeError("the run ended before the actor could be killed")
        time.sleep(0.05)
    actor_processes(proc.pid)[0].send_signal(signal.SIGKILL)
    rc = _wait(proc)
    note = f"actor SIGKILLed mid-batch; teacher.ray.actor_restarts={restarts}: "
    if restarts:
        note += f"replaced, batch retried (run rc {rc})"
    else:
        note += f"the stage stopped (rc {rc}), rerun"
        assert _wait(teacher_child(work, runner="ray", restarts=restarts)) == 0
    return _teacher_row(work, ref, note)


def fault_lost_actor_restart(root: Path, ref: Path) -> dict[str, Any]:
    return _actor_kill(root, ref, restarts=3)


def fault_lost_actor_stop(root: Path, ref: Path) -> dict[str, Any]:
    return _actor_kill(root, ref, restarts=0)


def fault_cluster_node_killed(root: Path, ref: Path) -> dict[str, Any]:
    from tests.support.ray_cluster import WORKER_RESOURCE, two_node_cluster

    work = root / "cluster_node_killed"
    with two_node_cluster() as cluster:
        proc = teacher_child(work, runner="ray", address=cluster.address, resources=WORKER_RESOURCE, env=cluster.env)
        _wait_for_rows(work, proc, 2 * BATCH)
        cluster.worker_raylet().send_signal(signal.SIGKILL)
        rc = _wait(proc)
        cluster.join_worker()
        assert (
            _wait(
                teacher_child(work, runner="ray", address=cluster.address, resources=WORKER_RESOURCE, env=cluster.env)
            )
            == 0
        )
    return _teacher_row(
        work, ref, f"2-node Ray cluster (ray start); worker node SIGKILLed mid-run (rc {rc}), node rejoined, rerun"
    )


def fault_label_scoring_kill(root: Path, ref: Path) -> dict[str, Any]:
    work = root / "label_scoring"
    runs = {}
    for name, fp in (("full", None), ("killed", "teacher_cache.shard_written:3")):
        w = work / name
        w.mkdir(parents=True)
        rc = subprocess.run(
            [sys.executable, "-m", "tests.stages.score_child", str(w), "12"],
            cwd=ROOT,
            env=_env(w, fp),
            capture_output=True,
        ).returncode
        runs[name] = rc
    assert runs["killed"] == -signal.SIGKILL
    w = work / "killed"
    subprocess.run(
        [sys.executable, "-m", "tests.stages.score_child", str(w), "12"],
        cwd=ROOT,
        env=_env(w),
        check=True,
        capture_output=True,
    )
    a, b = pl.read_parquet(work / "full" / "scores.parquet"), pl.read_parquet(w / "scores.parquet")
    calls = _calls(w)
    misaligned = sum(1 for x, y in zip(a["scores"].to_list(), b["scores"].to_list()) if x != y)
    repeated = sum(c - 1 for c in calls.values())
    return {
        "rows_expected": 12,
        "rows_in_output": b.height,
        "repeated_engine_calls": repeated,
        "lost_rows": 12 - b.height,
        "misaligned_rows": misaligned,
        "outcome": "ok" if not (repeated or misaligned) and b.height == 12 else "FAIL",
        "note": "label scoring (demo/classifier labels) killed right after its 3rd shard, rerun",
    }


def fault_sentibench_kill(root: Path, ref: Path) -> dict[str, Any]:
    work = root / "sentibench"
    for name, fp in (("full", None), ("killed", "sentibench.chunk_done:2"), ("killed", None)):
        w = work / name
        w.mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if k != FAILPOINT_ENV} | ({FAILPOINT_ENV: fp} if fp else {})
        subprocess.run(
            [sys.executable, "-m", "tests.sentidistill.sentibench.eval_child", str(w)],
            cwd=ROOT,
            env=env,
            capture_output=True,
        )
    a = pl.read_parquet(work / "full" / "preds.parquet")
    b = pl.read_parquet(work / "killed" / "preds.parquet")
    scored = Counter((work / "killed" / "scored.log").read_text().split())
    repeated = sum(c - 1 for c in scored.values())
    misaligned = sum(1 for x, y in zip(a.rows(), b.rows()) if x != y)
    return {
        "rows_expected": a.height,
        "rows_in_output": b.height,
        "repeated_engine_calls": repeated,
        "lost_rows": a.height - b.height,
        "misaligned_rows": misaligned,
        "outcome": "ok" if not (repeated or misaligned) and a.height == b.height else "FAIL",
        "note": "SentiBench evaluation (SST-2, 16 examples, 4 per engine call) killed after 2 calls, rerun",
    }


def fault_training_kill(root: Path, ref: Path) -> dict[str, Any]:
    """Training killed just after checkpoint 3 is written and its state file cut (a kill mid-save)."""
    from tests.sentidistill.training.conftest import make_icldist, make_knowdist
    from tests.sentidistill.training.test_kill_resume import _run, _weights

    model = _tiny_llama(root / "tiny_models")
    out = {}
    for name in ("full", "killed"):
        w = root / "training" / name
        (w / "models").mkdir(parents=True)
        subprocess.run(["cp", "-r", str(model), str(w / "models" / model.name)], check=True)
        make_knowdist(w / "knowdist_corpus.parquet")
        make_icldist(w / "icldist_corpus.parquet")
        out[name] = w
    assert _run(out["full"], model.name) == 0
    assert _run(out["killed"], model.name, "training.checkpoint_saved:3") == -signal.SIGKILL
    (ckpt_dir,) = (out["killed"] / "cache" / "knowdist").iterdir()
    (ckpt_dir / "checkpoint-3" / "trainer_state.json").unlink()
    assert _run(out["killed"], model.name) == 0
    same = _weights(out["killed"]) == _weights(out["full"])
    metrics = json.loads((out["killed"] / "metrics" / "knowdist.json").read_text())
    return {
        "rows_expected": metrics["global_step"],
        "rows_in_output": metrics["global_step"],
        "repeated_engine_calls": None,
        "lost_rows": 0,
        "misaligned_rows": 0 if same else None,
        "resumed_from": metrics["resumed_from"],
        "weights_bit_identical": same,
        "outcome": "ok" if same else "FAIL",
        "note": "SFT (tiny Llama) killed mid-checkpoint: the incomplete checkpoint is set aside, resume from the "
        "previous one; rows = optimizer steps",
    }


def _tiny_llama(root: Path) -> Path:
    """The tests' 1-layer random Llama with SmolLM2's tokenizer."""
    from sentidistill.models.store import model_paths
    from tests.conftest import TINY_MODEL
    from tests.sentidistill.training.conftest import make_tiny_llama

    root.mkdir(parents=True, exist_ok=True)
    return make_tiny_llama(root, model_paths(TINY_MODEL).hf_dir)


def fault_full_disk(root: Path, ref: Path) -> dict[str, Any]:
    """ENOSPC in the middle of an artifact write: the previous artifact stays, byte for byte."""
    import polars as pl_mod

    work = root / "full_disk"
    work.mkdir(parents=True)
    target = work / "knowdist_corpus.parquet"
    src = pl.read_parquet(ref / "out" / "knowdist_corpus.parquet")
    write_parquet(src, target)
    before = target.read_bytes()
    original = pl_mod.DataFrame.write_parquet

    def half_then_enospc(self: pl.DataFrame, file: Any, *a: Any, **k: Any) -> None:
        original(self, file, *a, **k)
        Path(file).write_bytes(Path(file).read_bytes()[: Path(file).stat().st_size // 2])
        raise OSError(errno.ENOSPC, "No space left on device")

    pl_mod.DataFrame.write_parquet = half_then_enospc  # type: ignore[method-assign]
    try:
        write_parquet(src.head(3), target)
        raised = False
    except OSError:
        raised = True
    finally:
        pl_mod.DataFrame.write_parquet = original  # type: ignore[method-assign]
    intact = target.read_bytes() == before
    temps = list(work.glob(".*.tmp"))
    return {
        "rows_expected": src.height,
        "rows_in_output": pl.read_parquet(target).height,
        "repeated_engine_calls": None,
        "lost_rows": src.height - pl.read_parquet(target).height,
        "misaligned_rows": 0 if intact else None,
        "orphaned_temp_files": len(temps),
        "outcome": "ok" if raised and intact and not temps else "FAIL",
        "note": "disk full half-way through rewriting a corpus: the write fails, the previous file is intact",
    }


FAULTS: dict[str, Callable[[Path, Path], dict[str, Any]]] = {
    "kill_mid_batch": fault_kill_mid_batch,
    "kill_after_shard_rename": _kill_at(
        "kill_after_shard_rename",
        "teacher_cache.shard_written:3",
        "SIGKILL right after the 3rd cache shard is renamed into place",
    ),
    "kill_during_corpus_write": _kill_at(
        "kill_during_corpus_write",
        "io.before_replace@knowdist_corpus.parquet",
        "SIGKILL with the corpus written to its temp file, before the rename",
    ),
    "two_writers_one_cache": fault_two_writers,
    "corrupt_shard": fault_corrupt_shard,
    "flaky_server": fault_flaky_server,
    "lost_actor_restarted": fault_lost_actor_restart,
    "lost_actor_no_restarts": fault_lost_actor_stop,
    "cluster_worker_node_killed": fault_cluster_node_killed,
    "label_scoring_kill": fault_label_scoring_kill,
    "sentibench_eval_kill": fault_sentibench_kill,
    "training_kill_mid_checkpoint": fault_training_kill,
    "full_disk_during_write": fault_full_disk,
}


# --------------------------------------------------------------------------- divergence
def answers_with_batches(work: Path, n_parallel: int, shift: int = 0, kill_after_shards: int = 0) -> dict[str, str]:
    """Greedy answers to DIVERGENCE_PROMPTS prompts in batches of 2 x BATCH rows. ``shift``: the first
    ``shift`` rows are answered alone first, so every later batch starts mid-way (a resume that
    does not start at a batch boundary); ``kill_after_shards``: SIGKILL after that many shards,
    then rerun (a plain resume, which re-forms the same batches)."""
    from tests.stages.teacher_child import make_prompts

    work.mkdir(parents=True)
    prompts = make_prompts(work / "all.parquet", DIVERGENCE_PROMPTS)
    if shift:
        head = work / "head"
        head.mkdir()
        write_parquet(prompts.head(shift), head / "knowdist_prompts.parquet")
        (work / "cache").mkdir()
        (head / "cache").symlink_to(work / "cache", target_is_directory=True)
        assert _wait(teacher_child(head, n=shift, batch=1, n_parallel=1)) == 0
    write_parquet(prompts, work / "knowdist_prompts.parquet")
    run = dict(n=DIVERGENCE_PROMPTS, batch=2 * BATCH, n_parallel=n_parallel)
    if kill_after_shards:
        rc = _wait(teacher_child(work, failpoint=f"teacher_cache.shard_written:{kill_after_shards}", **run))
        assert rc == -signal.SIGKILL, rc
    assert _wait(teacher_child(work, **run)) == 0
    corpus = pl.read_parquet(work / "out" / "knowdist_corpus.parquet")
    return dict(zip(corpus["key"], corpus["response"]))


def _differ(a: dict[str, str], b: dict[str, str]) -> dict[str, Any]:
    keys = [k for k in a if k in b]
    n = sum(1 for k in keys if a[k] != b[k])
    return {"prompts": len(keys), "answers_differ": n, "rate": round(n / len(keys), 4) if keys else None}


def measure_divergence(root: Path) -> dict[str, Any]:
    """How often an answer changes with the run's history, by engine setting: the same batches
    again, a kill + resume, and batches that start elsewhere."""
    out: dict[str, Any] = {}
    for n_par in (4, 1):
        ref = answers_with_batches(root / f"div_np{n_par}", n_par)
        out[f"n_parallel_{n_par}"] = {
            "same_batches_again": _differ(ref, answers_with_batches(root / f"div_np{n_par}_again", n_par)),
            "kill_and_resume": _differ(
                ref, answers_with_batches(root / f"div_np{n_par}_resumed", n_par, kill_after_shards=2)
            ),
            "batches_shifted": _differ(
                ref, answers_with_batches(root / f"div_np{n_par}_shifted", n_par, shift=DIVERGENCE_SHIFT)
            ),
        }
    return out


# --------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.faults", description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="*", choices=list(FAULTS), help="run these faults only (default: all)")
    parser.add_argument("--skip-divergence", action="store_true", help="skip the batched-decoding measurement")
    parser.add_argument("--divergence-only", action="store_true", help="only the batched-decoding measurement")
    args = parser.parse_args(argv)
    names = [] if args.divergence_only else (args.only or list(FAULTS))
    root = Path(tempfile.mkdtemp(prefix="faults-"))
    print(f"work folder: {root}")
    t0 = time.perf_counter()
    ref = root / "uninterrupted"
    assert _wait(teacher_child(ref)) == 0, (ref / "child.log").read_text()[-2000:]
    rows = []
    for name in names:
        t = time.perf_counter()
        try:
            row = FAULTS[name](root, ref)
        except Exception as exc:  # a fault that could not even be run is a failed row, not a crash
            row = {"outcome": "ERROR", "note": f"{type(exc).__name__}: {exc}"[:500]}
        row = {"fault": name, **row, "seconds": round(time.perf_counter() - t, 1)}
        rows.append(row)
        print(
            f"{name:30s} expected {row.get('rows_expected')!s:>4} out {row.get('rows_in_output')!s:>4} "
            f"repeated {row.get('repeated_engine_calls')!s:>4} lost {row.get('lost_rows')!s:>4} "
            f"misaligned {row.get('misaligned_rows')!s:>4}  {row['outcome']}",
            flush=True,
        )
    divergence = None if args.skip_divergence else measure_divergence(root)
    if divergence:
        print("resume divergence under batched decoding:", json.dumps(divergence))
    failures = [r["fault"] for r in rows if not str(r["outcome"]).startswith("ok")]
    flags = cpu_flags()
    write_result(
        "faults" if not (args.only or args.divergence_only) else "faults_partial",
        measured={
            "faults": rows,
            "resume_divergence": divergence,
            "failed": failures,
            "seconds": round(time.perf_counter() - t0, 1),
        },
        baseline={"goal": "0 lost, 0 repeated, 0 misaligned in every row"},
        ratio=float(sum(1 for r in rows if str(r["outcome"]).startswith("ok")) / max(len(rows), 1)),
        ratio_means="share of faults that end ok",
        cpu_flags={f: f in flags for f in ("avx2", "avx512f", "avx512_bf16", "amx_bf16")},
        precision="llama.cpp GGUF (SmolLM2-135M-Instruct teacher, as the package ships it); fp32 tiny Llama for SFT",
    )
    if failures:
        raise SystemExit(f"faults that did not end ok: {failures}")


if __name__ == "__main__":
    main()
