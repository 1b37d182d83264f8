"""``teacher:`` in params.yaml: which model answers, on which engine, how Ray runs it."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from sentidistill.engines import EngineConfig
from sentidistill.engines.base import GenerationParams
from sentidistill.params import StrictModel


class RayParams(StrictModel):
    address: str | None = Field(None, description="Ray cluster address ('auto', 'ray://host:10001'); null = local")
    num_cpus: int | None = Field(None, ge=1, description="local Ray only; null = all cores")
    object_store_memory_mb: int = Field(ge=64, description="local Ray only; Ray's default takes 30% of RAM")
    actors: int = Field(ge=1, description="actor pool size (one engine per actor)")
    cpus_per_actor: float = Field(gt=0)
    gpus_per_actor: float = Field(ge=0)
    batch_size: int = Field(ge=1, description="rows per actor call (also the progress/shard granularity)")
    actor_restarts: int = Field(
        3, ge=0, description="a lost actor is replaced (and its batch retried) at most this often; then the run stops"
    )
    resources: dict[str, float] = Field(
        default_factory=dict, description="custom Ray resources per actor (place actors on chosen nodes)"
    )


class CacheParams(StrictModel):
    dir: str = Field(description="root of the cache; one subfolder per corpus (a DVC out with persist: true)")
    shard_rows: int = Field(
        ge=1, description="label scoring: rows per cache shard (generation writes one shard per answered batch)"
    )


class SamplingParams(StrictModel):
    """Sampling of one corpus. ``temperature: 0`` is greedy; with sampling each row's seed
    is derived from its cache key, so reruns and resumes reproduce it."""

    max_new_tokens: int = Field(ge=1)
    temperature: float = Field(ge=0)
    top_p: float = Field(gt=0, le=1)
    seed: int = Field(ge=0)
    stop: list[str] = Field(default_factory=list)

    def generation_params(self, *, parse_special: bool, seed: int | None = None) -> GenerationParams:
        return GenerationParams(
            max_new_tokens=self.max_new_tokens,
            temperature=self.temperature,
            top_p=self.top_p,
            seed=self.seed if seed is None else seed,
            stop=tuple(self.stop),
            parse_special=parse_special,
        )


class TeacherParams(StrictModel):
    """``teacher`` group."""

    model: str = Field(description="registry name or role ('teacher' = models.teacher)")
    chat_template: bool = Field(description="wrap each user message in the teacher's chat template (instruct models)")
    system_prompt: str | None = Field(None, description="null = the template's default system turn")
    engine: EngineConfig
    runner: Literal["ray", "local"] = Field(description="ray: Ray Data actor pool; local: in-process (debugging)")
    ray: RayParams
    cache: CacheParams
    max_failed_rows: int = Field(
        0,
        ge=0,
        description="rows the engine may fail on (after its retries) before the stage stops; failed rows are "
        "never cached, stay in the corpus flagged 'teacher_error', and a rerun retries them",
    )
    sampling: dict[str, SamplingParams] = Field(
        description="per teacher task (its name): knowdist, icldist, icldist_demo_labels, classifier_labels"
    )

    def sampling_for(self, corpus: str) -> SamplingParams:
        if corpus not in self.sampling:
            raise KeyError(f"teacher.sampling has no entry {corpus!r} (have: {sorted(self.sampling)})")
        return self.sampling[corpus]


class PolicyParams(StrictModel):
    """``<corpus>.policy`` of a corpus whose answers are not parsed (``knowdist.policy``): which
    flagged rows leave the training set (they stay in the corpus file with ``keep: false`` and
    their ``exclude_reason``; ``teacher_error`` rows always leave). A task that parses answers
    extends it with its own reasons (``icldist.policy``: ``ICLDistPolicyParams`` in ``icldist/task.py``)."""

    exclude: list[Literal["empty", "truncated"]]
