"""Send the rows the cache lacks to the teacher, writing answers to the cache as they come.

``runner: ray`` (default): a Ray Data ``map_batches`` over an actor pool
(``ActorPoolStrategy``); each actor owns an engine; CPUs/GPUs per actor, actor count and
batch size come from ``teacher.ray``. Local Ray by default (object store capped, CPU count
set), or a cluster when ``teacher.ray.address`` is given (the workers must see the same
``models/`` folder, e.g. through a shared file system or ``runtime_env``).

``runner: local`` runs the same worker in-process (no Ray), for debugging and the bench.

Each worker writes its answered batch to the cache as one shard before returning it
(:mod:`sentidistill.teacher.worker`), so a kill of the driver or of an actor loses only
the batches the engine was still working on. A lost actor is replaced and its batch
retried up to ``teacher.ray.actor_restarts`` times (Ray Data); the driver receives the
batches in completion order for progress and counts, and collects the rows that failed.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from sentidistill.faults import ENGINE_CALL_LOG_ENV, FAILPOINT_ENV
from sentidistill.log import get_logger, progress_bar
from sentidistill.teacher.cache import TeacherCache
from sentidistill.teacher.config import SamplingParams, TeacherParams
from sentidistill.teacher.worker import TeacherWorker

log = get_logger(__name__)


@dataclass
class RunCounters:
    generated: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0
    shards_written: int = 0
    runner: str = ""
    failed: dict[str, str] = field(default_factory=dict)  # key -> why the engine failed on it
    answered_elsewhere: int = 0  # rows another run wrote to the cache after this run looked them up

    def as_dict(self) -> dict[str, Any]:
        tps = self.completion_tokens / self.seconds if self.seconds > 0 else 0.0
        return {
            "generated": self.generated,
            "generated_prompt_tokens": self.prompt_tokens,
            "generated_completion_tokens": self.completion_tokens,
            "generation_seconds": round(self.seconds, 3),
            "completion_tokens_per_s": round(tps, 3),
            "shards_written": self.shards_written,
            "runner": self.runner,
            "failed": len(self.failed),
            "answered_elsewhere": self.answered_elsewhere,
        }


class TeacherRunError(RuntimeError):
    """The teacher stopped (a lost actor that kept dying, a crashed engine): what it answered
    before is in the cache, and a rerun generates only the rest."""


class _Terminated(Exception):
    pass


def _raise_terminated(signum: int, frame: Any) -> None:
    raise _Terminated(f"signal {signum}")


def _batches(missing: pl.DataFrame, size: int) -> list[pl.DataFrame]:
    return [missing.slice(i, size) for i in range(0, missing.height, size)]


def _worker_args(
    teacher: TeacherParams, sampling: SamplingParams, parse_special: bool, label: str, cache: TeacherCache
) -> dict[str, Any]:
    return {
        "model": teacher.model,
        "engine_json": teacher.engine.model_dump_json(),
        "sampling_json": sampling.model_dump_json(),
        "parse_special": parse_special,
        "engine_label": label,
        "cache_dir": str(cache.root.resolve()),
    }


def _local_stream(missing: pl.DataFrame, teacher: TeacherParams, kwargs: dict[str, Any]) -> Iterator[dict[str, Any]]:
    worker = TeacherWorker(**kwargs)
    try:
        for b in _batches(missing, teacher.ray.batch_size):
            yield worker({c: b[c].to_list() for c in ("key", "prompt", "seed")})
    finally:
        worker.close()


def _fault_env() -> dict[str, dict[str, str]]:
    env = {k: os.environ[k] for k in (FAILPOINT_ENV, ENGINE_CALL_LOG_ENV) if os.environ.get(k)}
    return {"env_vars": env} if env else {}


def init_ray(teacher: TeacherParams) -> None:
    import ray

    if ray.is_initialized():
        return
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    r = teacher.ray
    if r.address:
        ray.init(address=r.address, log_to_driver=False, configure_logging=False)
    else:
        ray.init(
            num_cpus=r.num_cpus or os.cpu_count(),
            object_store_memory=r.object_store_memory_mb * 1024 * 1024,
            include_dashboard=False,
            log_to_driver=False,
            configure_logging=False,
        )


def _ray_stream(missing: pl.DataFrame, teacher: TeacherParams, kwargs: dict[str, Any]) -> Iterator[dict[str, Any]]:
    import ray
    import ray.data

    init_ray(teacher)
    ctx = ray.data.DataContext.get_current()
    ctx.enable_progress_bars = False
    ctx.execution_options.preserve_order = False
    r = teacher.ray
    # one block per batch, so the actor pool can spread them
    ds = ray.data.from_arrow([b.select("key", "prompt", "seed").to_arrow() for b in _batches(missing, r.batch_size)])
    ds = ds.map_batches(
        TeacherWorker,
        fn_constructor_kwargs=kwargs,
        compute=ray.data.ActorPoolStrategy(size=r.actors),
        batch_size=r.batch_size,
        num_cpus=r.cpus_per_actor,
        num_gpus=r.gpus_per_actor or None,
        resources=r.resources or None,
        # a lost actor (killed, OOM, its node gone) is replaced and its batch retried, a bounded
        # number of times (Ray Data's default is forever)
        max_restarts=r.actor_restarts,
        max_task_retries=r.actor_restarts,
        # a cluster's workers do not inherit the driver's environment: pass on fault injection
        runtime_env=_fault_env() or None,
        batch_format="numpy",
    )
    for b in ds.iter_batches(batch_size=None, batch_format="numpy", prefetch_batches=0):
        yield {k: list(v) for k, v in b.items()}


def generate_missing(
    missing: pl.DataFrame,
    teacher: TeacherParams,
    sampling: SamplingParams,
    cache: TeacherCache,
    *,
    parse_special: bool,
    engine_label: str,
    desc: str = "teacher",
) -> RunCounters:
    """Answer every row of ``missing`` (columns key, prompt, seed; unique keys) into ``cache``.

    Rows the engine failed on are in ``counters.failed`` (key -> reason), not in the cache."""
    counters = RunCounters(runner=teacher.runner)
    if missing.height == 0:
        return counters
    kwargs = _worker_args(teacher, sampling, parse_special, engine_label, cache)
    stream = _ray_stream if teacher.runner == "ray" else _local_stream
    if teacher.runner == "ray":
        init_ray(teacher)  # first: ray.init installs its own SIGTERM handler, ours must come after
    bar = progress_bar(missing.height, desc=desc, unit="row")
    old_term = signal.signal(signal.SIGTERM, _raise_terminated)
    t0 = time.perf_counter()
    try:
        for b in stream(missing, teacher, kwargs):
            n = len(b["key"])
            errors = [str(e) for e in b["error"]]
            elsewhere = int(sum(bool(x) for x in b["answered_elsewhere"]))
            counters.failed.update({str(k): e for k, e in zip(b["key"], errors) if e})
            counters.answered_elsewhere += elsewhere
            answered = n - sum(1 for e in errors if e) - elsewhere
            counters.generated += answered
            counters.shards_written += int(answered > 0)  # the worker wrote them as one shard
            counters.prompt_tokens += int(sum(b["n_prompt_tokens"]))
            counters.completion_tokens += int(sum(b["n_completion_tokens"]))
            elapsed = time.perf_counter() - t0
            bar.set_postfix_str(f"{counters.completion_tokens / max(elapsed, 1e-9):.1f} tok/s", refresh=False)
            bar.update(n)
    except (KeyboardInterrupt, _Terminated):
        log.warning("interrupted: the answered batches are in the cache; a rerun generates only the rest")
        raise
    except Exception as exc:
        if type(exc).__module__.startswith("ray"):
            raise TeacherRunError(
                f"the teacher run stopped: {type(exc).__name__}: {str(exc).splitlines()[0][:300]}. "
                f"The {counters.generated} rows answered so far are in {cache.root}; rerun to generate only the rest "
                "(teacher.ray.actor_restarts sets how often a lost actor is replaced)."
            ) from exc
        raise
    finally:
        signal.signal(signal.SIGTERM, old_term)
        bar.close()
    counters.seconds = time.perf_counter() - t0
    log.info(
        "%s: generated %d rows, %d completion tokens in %.1fs (%.1f tok/s)%s",
        desc,
        counters.generated,
        counters.completion_tokens,
        counters.seconds,
        counters.completion_tokens / max(counters.seconds, 1e-9),
        f"; {len(counters.failed)} rows failed" if counters.failed else "",
    )
    return counters
