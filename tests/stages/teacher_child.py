"""Child process of the resume test: stage logic of `teacher_generate knowdist` with the
tiny SmolLM2 teacher on a small synthetic prompt table (the KnowDist task through run_task).

    python -m tests.stages.teacher_child WORKDIR N_PROMPTS RUNNER [BATCH_SIZE] [N_PARALLEL] [ACTOR_RESTARTS] [RAY_ADDRESS] [RAY_RESOURCES_JSON]

Fault injection and the engine-call audit log come from the environment
(``SENTIDISTILL_FAILPOINT``, ``SENTIDISTILL_ENGINE_CALL_LOG``: :mod:`sentidistill.faults`).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import polars as pl

from sentidistill.io import write_parquet
from sentidistill.knowdist.prompts import KnowDistPromptParams, build_prompts
from sentidistill.knowdist.task import KnowDistTask
from sentidistill.params import parse_section
from sentidistill.schemas.teacher import KNOWDIST_PROMPTS
from sentidistill.teacher.config import TeacherParams
from sentidistill.teacher.resolve import resolve_teacher
from sentidistill.teacher.task import run_task

WORDS = "great awful service movie plot food waiter slow fast loved hated price quality screen battery".split()


def tiny_teacher(
    runner: str,
    shard_rows: int = 2,
    batch_size: int = 1,
    n_parallel: int = 1,
    actor_restarts: int = 3,
    address: str | None = None,
    resources: dict[str, float] | None = None,
) -> TeacherParams:
    return parse_section(
        "teacher",
        {
            "model": "smollm2-135m-instruct",
            "chat_template": True,
            "engine": {"backend": "llamacpp", "threads": 1, "n_ctx": 1024, "n_parallel": n_parallel},
            "runner": runner,
            "ray": {
                "num_cpus": 2,
                "object_store_memory_mb": 256,
                "actors": 1,
                "cpus_per_actor": 1,
                "gpus_per_actor": 0,
                "batch_size": batch_size,
                "actor_restarts": actor_restarts,
                "address": address,
                "resources": resources or {},
            },
            "cache": {"dir": "cache", "shard_rows": shard_rows},
            "sampling": {"knowdist": {"max_new_tokens": 24, "temperature": 0.0, "top_p": 1.0, "seed": 0}},
        },
        TeacherParams,
    )


def make_prompts(path: Path, n: int) -> pl.DataFrame:
    texts = [" ".join(WORDS[(i * 7 + j) % len(WORDS)] for j in range(6 + i % 5)) + f" #{i}" for i in range(n)]
    pool = pl.DataFrame(
        {
            "id": [f"{i:016x}" for i in range(n)],
            "domain": ["yelp"] * n,
            "normalized": texts,
            "pool_rank": list(range(n)),
        }
    )
    params = KnowDistPromptParams(
        seed=0, n_texts=n, methods=["analyzing", "rewriting"], perspectives=["BASIC", "EMOTION"], prompts_per_text=1
    )
    df, _ = build_prompts(pool, params)
    return write_parquet(df, path, KNOWDIST_PROMPTS)


def overlapping_runs(root: Path, total: int, each: int) -> tuple[pl.DataFrame, list[Path]]:
    """Two run folders whose prompt tables are rows ``[0, each)`` and ``[total - each, total)`` of
    one table of ``total`` prompts, their ``cache`` a link to one shared folder ``root/shared_cache``."""
    full = make_prompts(root / "all.parquet", total)
    shared = root / "shared_cache"
    shared.mkdir(parents=True)
    runs = []
    for name, part in (("a", full.slice(0, each)), ("b", full.slice(total - each, each))):
        work = root / name
        work.mkdir()
        part.write_parquet(work / "knowdist_prompts.parquet")
        (work / "cache").symlink_to(shared, target_is_directory=True)
        runs.append(work)
    return full, runs


def main(
    workdir: str,
    n: str,
    runner: str,
    batch_size: str = "1",
    n_parallel: str = "1",
    actor_restarts: str = "3",
    address: str = "",
    resources: str = "{}",
) -> None:
    work = Path(workdir)
    prompts = work / "knowdist_prompts.parquet"
    if not prompts.exists():
        make_prompts(prompts, int(n))
    teacher = tiny_teacher(
        runner,
        batch_size=int(batch_size),
        n_parallel=int(n_parallel),
        actor_restarts=int(actor_restarts),
        address=address or None,
        resources=json.loads(resources),
    )
    run_task(
        KnowDistTask(["empty"]), resolve_teacher(teacher), prompts, work / "out", work / "cache", work / "stats.json"
    )


if __name__ == "__main__":
    main(*sys.argv[1:])
