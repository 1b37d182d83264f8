"""Send the rows the cache lacks to the teacher, writing answers to the cache as they come.

``runner: ray`` (default): a Ray Data ``map_batches`` over an actor pool
(``ActorPoolStrategy``); each actor owns an engine; CPUs/GPUs per actor, actor count and
batch size come from ``teacher.ray``. Local Ray by default (object store capped, CPU count
set), or a cluster when ``teacher.ray.address`` is given (the workers must see the same
``models/`` folder, e.g. through a shared file system or ``runtime_env``).

``runner: local`` runs the same worker in-process (no Ray), for debugging and the bench.

The driver is the only writer of the cache: it receives answered batches in completion
order, writes a shard every ``shard_rows`` rows, and flushes what it holds on
SIGINT/SIGTERM, so a killed run loses at most one shard of work.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import polars as pl

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
    extra: dict[str, Any] = field(default_factory=dict)

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
        }


class _Terminated(Exception):
    pass


def _raise_terminated(signum: int, frame: Any) -> None:
    raise _Terminated(f"signal {signum}")


def _batches(missing: pl.DataFrame, size: int) -> list[pl.DataFrame]:
    return [missing.slice(i, size) for i in range(0, missing.height, size)]


def _worker_args(teacher: TeacherParams, sampling: SamplingParams, parse_special: bool, label: str) -> dict[str, Any]:
    return {
        "model": teacher.model,
        "engine_json": teacher.engine.model_dump_json(),
        "sampling_json": sampling.model_dump_json(),
        "parse_special": parse_special,
        "engine_label": label,
    }


def _local_stream(missing: pl.DataFrame, teacher: TeacherParams, kwargs: dict[str, Any]) -> Iterator[dict[str, Any]]:
    worker = TeacherWorker(**kwargs)
    try:
        for b in _batches(missing, teacher.ray.batch_size):
            yield worker({c: b[c].to_list() for c in ("key", "prompt", "seed")})
    finally:
        worker.close()


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
        batch_format="numpy",
    )
    for b in ds.iter_batches(batch_size=None, batch_format="numpy", prefetch_batches=0):
        yield {k: list(v) for k, v in b.items()}


def generate_missing(
    missing: pl.DataFrame, teacher: TeacherParams, sampling: SamplingParams, cache: TeacherCache,
    *, parse_special: bool, engine_label: str, desc: str = "teacher",
) -> RunCounters:  # fmt: skip
    """Answer every row of ``missing`` (columns key, prompt, seed; unique keys) into ``cache``."""
    counters = RunCounters(runner=teacher.runner)
    if missing.height == 0:
        return counters
    kwargs = _worker_args(teacher, sampling, parse_special, engine_label)
    stream = _ray_stream if teacher.runner == "ray" else _local_stream
    pending: list[dict[str, Any]] = []
    if teacher.runner == "ray":
        init_ray(teacher)  # first: ray.init installs its own SIGTERM handler, ours must come after
    bar = progress_bar(missing.height, desc=desc, unit="row")
    old_term = signal.signal(signal.SIGTERM, _raise_terminated)
    t0 = time.perf_counter()

    def flush() -> None:
        if pending:
            cache.append(pending)
            counters.shards_written += 1
            pending.clear()

    try:
        for b in stream(missing, teacher, kwargs):
            n = len(b["key"])
            for i in range(n):
                pending.append({c: b[c][i] for c in ("key", "response", "n_prompt_tokens", "n_completion_tokens",
                                                     "finish_reason", "engine")})  # fmt: skip
            counters.generated += n
            counters.prompt_tokens += int(sum(b["n_prompt_tokens"]))
            counters.completion_tokens += int(sum(b["n_completion_tokens"]))
            if len(pending) >= teacher.cache.shard_rows:
                flush()
            elapsed = time.perf_counter() - t0
            bar.set_postfix_str(f"{counters.completion_tokens / max(elapsed, 1e-9):.1f} tok/s", refresh=False)
            bar.update(n)
    except (KeyboardInterrupt, _Terminated):
        log.warning("interrupted: saving %d answered rows to the cache before exiting", len(pending))
        flush()
        raise
    finally:
        signal.signal(signal.SIGTERM, old_term)
        bar.close()
    flush()
    counters.seconds = time.perf_counter() - t0
    log.info(
        "%s: generated %d rows, %d completion tokens in %.1fs (%.1f tok/s)",
        desc, counters.generated, counters.completion_tokens, counters.seconds,
        counters.completion_tokens / max(counters.seconds, 1e-9),
    )  # fmt: skip
    return counters
