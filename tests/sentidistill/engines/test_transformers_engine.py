"""The transformers engine on the real tiny student: batching/prefix sharing must not change the numbers."""

import numpy as np
import pytest
import torch

from sentidistill.engines import GenerationParams
from sentidistill.sentibench.parsing import answer_end

pytestmark = pytest.mark.slow

INSTRUCTION = (
    "Please perform Sentiment Analysis task. Given the sentence, assign a sentiment polarity label "
    "from ['negative', 'positive']. Return label only without any other text.\n\n"
)
PROMPTS = [
    INSTRUCTION + "Sentence: a great movie\nLabel: positive\n\nSentence: " + s + "\nLabel:"
    for s in ["it was awful and boring", "I loved every minute of it, a joy", "meh", "the worst film of the year"]
]


def unpadded_last_logits(engine, prompt, ids):
    x = torch.tensor([engine.tokenize(prompt)])
    with torch.inference_mode():
        return engine.model(x).logits[0, -1, ids].float().numpy()


def test_next_token_logits_match_one_unpadded_forward_per_prompt(tiny_hf_engine):
    ids = tiny_hf_engine.first_token_ids(["negative", "positive"])
    assert len(set(ids)) == 2
    got = tiny_hf_engine.next_token_logits(PROMPTS, ids)
    ref = np.stack([unpadded_last_logits(tiny_hf_engine, p, ids) for p in PROMPTS])
    assert got.shape == (4, 2)
    np.testing.assert_allclose(got, ref, atol=1e-3)


def test_prefix_sharing_and_batching_do_not_change_scores(tiny_hf_engine):
    ids = tiny_hf_engine.first_token_ids(["negative", "positive"])
    shared = tiny_hf_engine.next_token_logits(PROMPTS, ids)
    old = (tiny_hf_engine.share_prefix, tiny_hf_engine.max_batch_size)
    try:
        tiny_hf_engine.share_prefix, tiny_hf_engine.max_batch_size = False, 1
        single = tiny_hf_engine.next_token_logits(PROMPTS, ids)
    finally:
        tiny_hf_engine.share_prefix, tiny_hf_engine.max_batch_size = old
    np.testing.assert_allclose(shared, single, atol=1e-3)


def test_continuation_logprobs_of_single_token_labels_equal_log_softmax(tiny_hf_engine):
    labels = [" negative", " positive"]
    ids = [tiny_hf_engine.tokenize(lab, add_special_tokens=False) for lab in labels]
    assert all(len(i) == 1 for i in ids)
    lp = tiny_hf_engine.continuation_logprobs(PROMPTS[:2], labels)
    for row, p in zip(lp, PROMPTS[:2]):
        x = torch.tensor([tiny_hf_engine.tokenize(p)])
        with torch.inference_mode():
            full = torch.log_softmax(tiny_hf_engine.model(x).logits[0, -1].float(), -1)
        np.testing.assert_allclose(row, [full[i[0]].item() for i in ids], atol=1e-3)


def test_generate_stops_once_the_answer_line_is_complete(tiny_hf_engine):
    out = tiny_hf_engine.generate(PROMPTS[:2], GenerationParams(max_new_tokens=40, stop_when=answer_end))
    assert len(out) == 2
    for g in out:
        assert g.finish_reason == "stop"
        assert g.n_completion_tokens < 40
        assert g.text.strip().split("\n")[0].strip() in {"positive", "negative"}
    capped = tiny_hf_engine.generate(PROMPTS[:1], GenerationParams(max_new_tokens=1))
    assert capped[0].n_completion_tokens == 1 and capped[0].finish_reason == "length"
