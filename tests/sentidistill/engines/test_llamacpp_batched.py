import pytest

from sentidistill.engines import EngineConfig, load_engine
from sentidistill.engines.base import GenerationParams

PROMPTS = [
    "The capital of France is",
    "Write a haiku about the sea:",
    "List three fruits:",
    "The capital of France is",  # a duplicate in the same run
    "Translate 'good morning' to Spanish:",
]


@pytest.fixture(scope="module")
def engine():
    eng = load_engine("smollm2-135m-instruct", EngineConfig(backend="llamacpp", threads=1, n_ctx=1024, n_parallel=3))
    yield eng
    eng.close()


@pytest.mark.slow
def test_batched_generate(engine):
    from sentidistill.engines.llamacpp_batched import LlamaCppBatchedEngine

    assert isinstance(engine, LlamaCppBatchedEngine)
    params = GenerationParams(max_new_tokens=12)
    out = engine.generate(PROMPTS, params)
    assert len(out) == len(PROMPTS)
    for g, p in zip(out, PROMPTS):
        assert g.n_prompt_tokens == len(engine.tokenize(p))
        assert g.n_completion_tokens <= 12
        assert g.finish_reason in ("stop", "length")
        assert (g.finish_reason == "length") == (g.n_completion_tokens == 12)
    assert out[0] == out[3]  # same prompt, same answer
    assert engine.generate(PROMPTS, params) == out  # same inputs, same batches, same answers
    # more prompts than sequences, KV budget forcing fewer sequences at once
    many = engine.generate(PROMPTS * 3, GenerationParams(max_new_tokens=4))
    assert [g.text for g in many[:5]] == [g.text for g in many[5:10]]


@pytest.mark.slow
def test_stop_strings_and_sampling_fallback(engine):
    g = engine.generate(["List three fruits:\n1."], GenerationParams(max_new_tokens=24, stop=("\n",)))[0]
    assert "\n" not in g.text
    sampled = engine.generate(["Hello"], GenerationParams(max_new_tokens=4, temperature=0.8, seed=3))
    assert len(sampled) == 1  # sampled generation uses the one-sequence path
