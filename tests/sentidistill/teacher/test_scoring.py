"""Teacher label scores (sentidistill/teacher/scoring.py) on the real tiny GGUF via llama.cpp."""

import math

import numpy as np
import polars as pl
import pytest

from sentidistill.teacher.resolve import resolve_teacher
from sentidistill.teacher.scoring import score_candidates, score_table
from tests.sentidistill.teacher.conftest import teacher_params

pytestmark = pytest.mark.slow

INSTR = "Please perform sentiment classification task. The label should be one of the following: ['positive', 'negative', 'neutral'].\n\n"
TEXTS = [
    "I loved every minute of it, wonderful staff.",
    "Terrible. Cold food and rude waiters.",
    "It is a chair.",
    "Best purchase this year!",
    "Broke after two days, avoid.",
]
LABELS = ["positive", "negative", "neutral"]


def _requests(cands=LABELS):
    msgs = [f"{INSTR}Sentence: {t}\nOutput:" for t in TEXTS]
    return pl.DataFrame(
        {
            "prompt_id": [f"{i:016x}" for i in range(len(msgs))],
            "user_message": msgs,
            "candidates": [list(cands)] * len(msgs),
        }
    )


def test_scores_are_a_distribution_whose_argmax_is_the_restricted_greedy_token(tiny_llamacpp_engine):
    prompts = _requests()["user_message"].to_list()
    scores = score_candidates(tiny_llamacpp_engine, prompts, LABELS, parse_special=False)
    first = [tiny_llamacpp_engine.tokenize(c, add_special_tokens=False)[0] for c in LABELS]
    raw = tiny_llamacpp_engine.next_token_logits(prompts, first)
    for s, r in zip(scores, raw):
        assert math.isclose(sum(math.exp(x) for x in s), 1.0, rel_tol=1e-5)
        assert int(np.argmax(s)) == int(np.argmax(r))


def test_colliding_first_tokens_fall_back_to_whole_label_likelihoods(tiny_llamacpp_engine):
    cands = ["disappointment", "disapproval"]  # GoEmotions labels that share their first SmolLM2 token
    first = [tiny_llamacpp_engine.tokenize(c, add_special_tokens=False)[0] for c in cands]
    assert first[0] == first[1]
    scores = score_candidates(
        tiny_llamacpp_engine, _requests()["user_message"].to_list()[:2], cands, parse_special=False
    )
    assert all(math.isclose(sum(math.exp(x) for x in s), 1.0, rel_tol=1e-5) and s[0] != s[1] for s in scores)


def test_score_table_caches_every_row_and_a_rerun_scores_nothing(tiny_model_paths, tmp_path):
    teacher = resolve_teacher(teacher_params(cache={"dir": str(tmp_path), "shard_rows": 2}))
    out, st = score_table(_requests(), teacher, "labels", tmp_path)
    assert st["scored"] == 5 and st["cache_hits"] == 0 and st["cache"]["shards"] == 3  # shards of <= 2 rows
    assert out["scores"].list.len().to_list() == [3] * 5 and not out["cache_hit"].any()
    again, st2 = score_table(_requests(), teacher, "labels", tmp_path)
    assert st2["scored"] == 0 and st2["cache_hits"] == 5 and again["scores"].to_list() == out["scores"].to_list()
    # another label set is another question: new keys
    _, st3 = score_table(_requests(["positive", "negative"]), teacher, "labels", tmp_path)
    assert st3["scored"] == 5
