"""The engine owner: a Ray Data actor (or an in-process object with ``runner: local``)."""

from __future__ import annotations

import dataclasses
import os
import time
from typing import Any

import numpy as np


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

    def __init__(self, model: str, engine_json: str, sampling_json: str, parse_special: bool, engine_label: str) -> None:
        _normal_priority()
        from sentidistill.engines import EngineConfig, load_engine
        from sentidistill.teacher.config import SamplingParams

        self.engine = load_engine(model, EngineConfig.model_validate_json(engine_json))
        self.sampling = SamplingParams.model_validate_json(sampling_json)
        self.params = self.sampling.generation_params(parse_special=parse_special)
        self.engine_label = engine_label

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        prompts = [str(p) for p in batch["prompt"]]
        t0 = time.perf_counter()
        if self.sampling.temperature <= 0:
            gens = self.engine.generate(prompts, self.params)
        else:  # one call per row: each row has its own seed (derived from its key)
            gens = [
                self.engine.generate([p], dataclasses.replace(self.params, seed=int(s)))[0]
                for p, s in zip(prompts, batch["seed"])
            ]
        elapsed = time.perf_counter() - t0
        return {
            "key": np.asarray([str(k) for k in batch["key"]], dtype=object),
            "response": np.asarray([g.text for g in gens], dtype=object),
            "n_prompt_tokens": np.asarray([g.n_prompt_tokens for g in gens], dtype=np.int64),
            "n_completion_tokens": np.asarray([g.n_completion_tokens for g in gens], dtype=np.int64),
            "finish_reason": np.asarray(["stop" if g.finish_reason == "answer_complete" else g.finish_reason
                                         for g in gens], dtype=object),  # fmt: skip
            "engine": np.asarray([self.engine_label] * len(gens), dtype=object),
            "elapsed_s": np.full(len(gens), elapsed / max(len(gens), 1), dtype=np.float64),
        }

    def close(self) -> None:
        self.engine.close()
