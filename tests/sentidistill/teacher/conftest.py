"""A deterministic in-process engine for the cache/runner logic (real-model tests are marked slow)."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from sentidistill.engines.base import Engine, Generation, GenerationParams
from sentidistill.params import parse_section
from sentidistill.teacher.config import TeacherParams


class EchoEngine(Engine):
    """Answers with the prompt's last 3 words. A prompt containing a word of ``failing``
    makes ``generate`` raise (a crashed batch), the way a real engine fails on a bad row."""

    backend = "echo"
    calls: list[str] = []  # prompts answered
    attempts: list[str] = []  # prompts asked (answered or not)
    failing: set[str] = set()

    def tokenize(self, text, *, add_special_tokens=True):
        return list(range(len(text.split())))

    def next_token_logits(self, prompts, token_ids):  # pragma: no cover - unused
        return np.zeros((len(prompts), len(token_ids)), dtype=np.float32)

    def continuation_logprobs(self, prompts, continuations):  # pragma: no cover - unused
        return np.zeros((len(prompts), len(continuations)), dtype=np.float32)

    def generate(self, prompts, params: GenerationParams):
        EchoEngine.attempts.extend(prompts)
        bad = [p for p in prompts if EchoEngine.failing & set(p.split())]
        if bad:
            raise RuntimeError(f"engine failed on {bad[0]!r}")
        out = []
        for p in prompts:
            EchoEngine.calls.append(p)
            words = p.split()[-3:]
            text = "" if "EMPTY" in p else " ".join(words)
            n = len(words) if text else 0
            out.append(Generation(text, len(p.split()), n, "length" if "LONG" in p else "stop"))
        return out


@pytest.fixture
def echo_engine(monkeypatch):
    import sentidistill.engines as engines

    EchoEngine.calls = []
    EchoEngine.failing = set()
    EchoEngine.attempts = []
    monkeypatch.setattr(engines, "load_engine", lambda model, config: EchoEngine())
    return EchoEngine


IDENTITY = {"backend": "echo", "model": "echo", "weights_sha256": "0" * 64}


def teacher_params(**over) -> TeacherParams:
    base = {
        "model": "smollm2-135m-instruct",
        "chat_template": False,
        "system_prompt": None,
        "engine": {"backend": "llamacpp", "threads": 1, "n_ctx": 2048},
        "runner": "local",
        "ray": {"object_store_memory_mb": 256, "actors": 1, "cpus_per_actor": 1, "gpus_per_actor": 0, "batch_size": 2},
        "cache": {"dir": "cache", "shard_rows": 3},
        "sampling": {
            c: {"max_new_tokens": 16, "temperature": 0.0, "top_p": 1.0, "seed": 0}
            for c in ("knowdist", "icldist", "icldist_demo_labels")
        },
    }
    for k, v in over.items():
        base[k] = {**base[k], **v} if isinstance(v, dict) and isinstance(base.get(k), dict) else v
    return parse_section("teacher", base, TeacherParams)


def requests(n: int, extra: str = "") -> pl.DataFrame:
    return pl.DataFrame(
        {
            "prompt_id": [f"{i:016x}" for i in range(n)],
            "text_id": [f"t{i}" for i in range(n)],
            "user_message": [f"prompt {extra}{i} says hello world {i}" for i in range(n)],
        }
    )
