"""llama.cpp engine on the tiny student's GGUF: KV prefix reuse must not change the numbers."""

import numpy as np
import pytest

from sentidistill.engines import GenerationParams
from sentidistill.sentibench.parsing import answer_end

from .test_transformers_engine import PROMPTS

pytestmark = pytest.mark.slow


def test_prefix_reuse_gives_the_same_logits_as_a_fresh_context(tiny_llamacpp_engine):
    eng = tiny_llamacpp_engine
    ids = eng.first_token_ids(["negative", "positive"])
    warm = eng.next_token_logits(PROMPTS, ids)  # consecutive prompts share the instruction prefix
    fresh = []
    for p in PROMPTS:
        eng.llm.reset()
        eng.llm._ctx.kv_cache_seq_rm(-1, 0, -1)
        fresh.append(eng.next_token_logits([p], ids)[0])
    np.testing.assert_allclose(warm, np.stack(fresh), atol=1e-2)


def test_llamacpp_agrees_with_transformers_on_the_label(tiny_llamacpp_engine, tiny_hf_engine):
    ids_l = tiny_llamacpp_engine.first_token_ids(["negative", "positive"])
    ids_h = tiny_hf_engine.first_token_ids(["negative", "positive"])
    assert ids_l == ids_h  # same tokenizer, read from the same GGUF
    a = tiny_llamacpp_engine.next_token_logits(PROMPTS, ids_l).argmax(1)
    b = tiny_hf_engine.next_token_logits(PROMPTS, ids_h).argmax(1)
    assert (a == b).all()


def test_generate_greedy_is_deterministic_and_stops_at_the_answer(tiny_llamacpp_engine):
    params = GenerationParams(max_new_tokens=40, stop_when=answer_end)
    a = tiny_llamacpp_engine.generate(PROMPTS[:2], params)
    b = tiny_llamacpp_engine.generate(PROMPTS[:2], params)
    assert [g.text for g in a] == [g.text for g in b]
    assert all(g.finish_reason == "stop" for g in a)
