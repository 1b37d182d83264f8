"""Soft labels: label-token selection (first tokens of every spelling, full-label scoring when
first tokens collide), the softmax, and special-token parsing of chat-templated prompts on a
real engine (slow)."""

from __future__ import annotations

import numpy as np
import pytest

from sentidistill.classifier.soft import check_backend, label_token_ids, score_prefixes, special_token_parsing
from sentidistill.engines.base import Engine


class CharEngine(Engine):
    """Tokens = characters (so 'negative' and 'neutral' share their first token 'n')."""

    backend = "fake"

    def __init__(self):
        self.loglik_calls = 0

    def tokenize(self, text, *, add_special_tokens=True):
        return [ord(c) for c in text]

    def next_token_logits(self, prompts, token_ids):
        return np.array([[float(t % 5) for t in token_ids] for _ in prompts], dtype=np.float32)

    def continuation_logprobs(self, prompts, continuations):
        self.loglik_calls += 1
        return np.array([[-float(len(c)) for c in continuations] for _ in prompts], dtype=np.float32)

    def generate(self, prompts, params):  # pragma: no cover - unused
        raise NotImplementedError


def test_colliding_first_tokens_use_full_label_scoring():
    eng = CharEngine()
    mode, _ = label_token_ids(eng, ["negative", "neutral", "positive"])
    assert mode == "full_loglik"
    mode, probs = score_prefixes(eng, ['x "label": "', 'y "label": "'], ["negative", "neutral", "positive"])
    assert mode == "full_loglik" and eng.loglik_calls == 1
    assert probs.shape == (2, 3) and np.allclose(probs.sum(axis=1), 1.0)
    assert probs[0, 1] > probs[0, 0]  # 'neutral' (7 chars) beats 'negative' (8): log-likelihood -7 vs -8


def test_first_token_mode_sums_spellings():
    eng = CharEngine()
    mode, ids = label_token_ids(eng, ["bad", "good"])
    assert mode == "first_token" and ids == [[ord("B"), ord("b")], [ord("G"), ord("g")]]
    _, probs = score_prefixes(eng, ["p"], ["bad", "good"])
    lb = np.log(np.exp(ord("B") % 5) + np.exp(ord("b") % 5))
    lg = np.log(np.exp(ord("G") % 5) + np.exp(ord("g") % 5))
    assert probs[0, 0] == pytest.approx(1 / (1 + np.exp(lg - lb)))


def test_openai_backend_is_refused():
    with pytest.raises(ValueError, match="soft_labels: false"):
        check_backend("openai")
    check_backend("llamacpp")


@pytest.mark.slow
def test_special_tokens_and_scoring_on_a_real_engine(tiny_llamacpp_engine, tiny_model_paths):
    from sentidistill.teacher.template import ChatTemplater

    eng = tiny_llamacpp_engine
    plain = eng.tokenize("<|im_start|>user")
    with special_token_parsing(eng):
        special = eng.tokenize("<|im_start|>user")
        prompt = ChatTemplater(tiny_model_paths.hf_dir)("Classify: I love it.") + '{"reason": "Praise.", "label": "'
        mode, probs = score_prefixes(eng, [prompt], ["negative", "neutral", "positive"])
    assert len(special) < len(plain)  # the template's special token is one token, as in generation
    assert eng.tokenize("<|im_start|>user") == plain  # restored
    assert (
        probs.shape == (1, 3) and probs.sum() == pytest.approx(1.0, abs=1e-6) and mode in ("first_token", "full_loglik")
    )
