"""The engine owner: a Ray Data actor (or an in-process object with ``runner: local``).

The worker writes each answered batch to the cache itself, before returning it: an answer
the engine produced is on disk even if the driver (or this actor) is killed a moment later,
and a batch Ray retries on a new actor after a lost one is answered into the same
content-addressed shard. A row the engine fails on is returned with ``finish_reason:
"error"`` and its reason, and is never written to the cache (a rerun asks for it again).
"""

from __future__ import annotations

import dataclasses
import os
import time
from typing import Any

import numpy as np

from sentidistill.faults import record_engine_calls


def _normal_priority() -> None:
    """Ray starts workers at nice 15 (``worker_niceness``); a teacher actor is the job's main
    work, so it runs at normal priority when allowed (a busy shared machine otherwise
    starves it, and llama.cpp's threads wait on each other)."""
    try:
        if os.getpriority(os.PRIO_PROCESS, 0) > 0:
            os.setpriority(os.PRIO_PROCESS, 0, 0)
    except (PermissionError, OSError):
        pass


class TeacherWorker:
    """Loads the engine once; each call answers a batch of ``{key, prompt, seed}`` rows."""

    def __init__(
        self,
        model: str,
        engine_json: str,
        sampling_json: str,
        parse_special: bool,
        engine_label: str,
        cache_dir: str,
    ) -> None:
        _normal_priority()
        from sentidistill.engines import EngineConfig, load_engine
        from sentidistill.teacher.cache import TeacherCache
        from sentidistill.teacher.config import SamplingParams

        self.engine = load_engine(model, EngineConfig.model_validate_json(engine_json))
        self.sampling = SamplingParams.model_validate_json(sampling_json)
        self.params = self.sampling.generation_params(parse_special=parse_special)
        self.engine_label = engine_label
        self.cache = TeacherCache(cache_dir)

    def _generate(self, prompts: list[str], seeds: list[int]) -> list[Any]:
        if self.sampling.temperature <= 0:
            return self.engine.generate(prompts, self.params)
        # one call per row: each row has its own seed (derived from its key)
        return [self.engine.generate([p], dataclasses.replace(self.params, seed=s))[0] for p, s in zip(prompts, seeds)]

    def _generate_isolating_failures(self, prompts: list[str], seeds: list[int]) -> list[Any]:
        """The batch at once; if it fails, row by row, so one bad row (a prompt too long for
        the context, a request the server keeps refusing) fails alone with its reason."""
        from sentidistill.engines.base import Generation

        try:
            return self._generate(prompts, seeds)
        except Exception as exc:
            if len(prompts) == 1:
                return [Generation("", 0, 0, "error", error=f"{type(exc).__name__}: {exc}"[:1000])]
        return [self._generate_isolating_failures([p], [s])[0] for p, s in zip(prompts, seeds)]

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        """Answer the rows of ``batch`` the cache still lacks: another run writing the same cache
        (or a retried batch) may have answered some since this run looked them up."""
        from sentidistill.engines.base import Generation

        keys = [str(k) for k in batch["key"]]
        known = self.cache.known_keys()
        todo = [i for i, k in enumerate(keys) if k not in known]
        t0 = time.perf_counter()
        new = (
            self._generate_isolating_failures(
                [str(batch["prompt"][i]) for i in todo], [int(batch["seed"][i]) for i in todo]
            )
            if todo
            else []
        )
        elapsed = time.perf_counter() - t0
        done = dict(zip(todo, new))  # row index -> its generation; the other rows were answered elsewhere
        answered = [(keys[i], g) for i, g in done.items() if g.finish_reason != "error"]
        record_engine_calls(k for k, _ in answered)
        self.cache.append(
            [
                {
                    "key": k,
                    "response": g.text,
                    "n_prompt_tokens": g.n_prompt_tokens,
                    "n_completion_tokens": g.n_completion_tokens,
                    "finish_reason": g.finish_reason,
                    "engine": self.engine_label,
                }
                for k, g in answered
            ]
        )
        skipped = Generation("", 0, 0, "stop")
        gens = [done.get(i, skipped) for i in range(len(keys))]
        return {
            "key": np.asarray(keys, dtype=object),
            "n_prompt_tokens": np.asarray([g.n_prompt_tokens for g in gens], dtype=np.int64),
            "n_completion_tokens": np.asarray([g.n_completion_tokens for g in gens], dtype=np.int64),
            "error": np.asarray([g.error or "" for g in gens], dtype=object),
            "answered_elsewhere": np.asarray([i not in done for i in range(len(keys))], dtype=bool),
            "elapsed_s": np.full(len(gens), elapsed / max(len(gens), 1), dtype=np.float64),
        }

    def close(self) -> None:
        self.engine.close()
