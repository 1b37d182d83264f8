import pytest

from sentidistill.engines import EngineConfig, load_engine
from sentidistill.engines.base import GenerationParams
from sentidistill.engines.llamacpp_server import free_port
from sentidistill.engines.openai_engine import OpenAIEngine, OpenAIServerError


def test_unreachable_server_says_what_to_check():
    """A request that keeps failing becomes that row's error result (the batch's other rows keep theirs)."""
    eng = OpenAIEngine(f"http://127.0.0.1:{free_port()}/v1", model="m", retries=1, backoff_s=0, timeout_s=2)
    (g,) = eng.generate(["hi"], GenerationParams(max_new_tokens=2))
    assert g.finish_reason == "error" and "base_url" in g.error and "2 attempts" in g.error
    with pytest.raises(OpenAIServerError, match="base_url"):  # listing models has no row to fail
        OpenAIEngine(f"http://127.0.0.1:{free_port()}/v1", retries=0, timeout_s=2)


@pytest.mark.slow
def test_completions_against_real_server(openai_server):
    eng = load_engine(
        "unused", EngineConfig(backend="openai", openai={"base_url": openai_server, "max_concurrency": 3})
    )
    assert eng.model == "smollm2"  # the first model /v1/models lists
    prompts = [f"Count: {i}, {i + 1}," for i in range(4)]
    gens = eng.generate(prompts, GenerationParams(max_new_tokens=6))
    assert len(gens) == 4
    for g in gens:
        assert g.n_prompt_tokens > 0 and 0 < g.n_completion_tokens <= 6
        assert g.finish_reason in ("stop", "length")
    # greedy + order preserved under concurrency: the same prompts again give the same answers
    again = eng.generate(list(reversed(prompts)), GenerationParams(max_new_tokens=6))
    assert [g.text for g in reversed(again)] == [g.text for g in gens]
    assert eng.generate(["Count: 1, 2,"], GenerationParams(max_new_tokens=3))[0].finish_reason == "length"
    with pytest.raises(NotImplementedError):
        eng.next_token_logits(["x"], [1])


@pytest.mark.slow
def test_chat_completions_against_real_server(openai_server):
    eng = OpenAIEngine(openai_server, model="smollm2", chat=True)
    g = eng.generate(["Say hello in one word."], GenerationParams(max_new_tokens=8))[0]
    assert g.text.strip() and g.n_completion_tokens > 0
    assert eng.identity() == {"backend": "openai", "model": "smollm2", "chat": True}


@pytest.mark.slow
def test_server_error_is_reported(openai_server):
    eng = OpenAIEngine(openai_server, model="smollm2", retries=0)
    with pytest.raises(OpenAIServerError, match=r"HTTP \d{3}: .*max_tokens"):
        eng._request("/completions", {"model": "smollm2", "prompt": "x", "max_tokens": -5})
