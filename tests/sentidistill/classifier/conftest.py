"""Fakes for the classifier path: a JSON-answering teacher engine, a synthetic clean corpus
with pools, teacher params (local runner) and a teacher-labels table."""

from __future__ import annotations

import hashlib

import numpy as np
import polars as pl
import pytest

from sentidistill.classifier.config import LabelParams
from sentidistill.engines.base import Engine, Generation
from sentidistill.io import write_parquet
from sentidistill.params import load_params, parse_section
from sentidistill.schemas.corpus import CORPUS_CLEAN, POOL, content_id
from tests.sentidistill.teacher.conftest import teacher_params

LABELS = ["negative", "neutral", "positive"]


class JsonTeacher(Engine):
    """Answers by keywords of the text: JSON, JSON in prose, a wrong label or no JSON at all."""

    backend = "fake"
    generated: list[str] = []
    scored: list[str] = []

    def tokenize(self, text, *, add_special_tokens=True):
        return [int(hashlib.md5(w.encode()).hexdigest()[:6], 16) for w in text.split()] or [0]

    def next_token_logits(self, prompts, token_ids, *, parse_special=False):
        JsonTeacher.scored.extend(prompts)
        out = np.zeros((len(prompts), len(token_ids)), dtype=np.float32)
        for i, p in enumerate(prompts):
            for j, t in enumerate(token_ids):
                out[i, j] = (t % 7) / 3.0 + (2.0 if "awful" in p else 0.0)
        return out

    def continuation_logprobs(self, prompts, continuations):  # pragma: no cover - unused
        return np.zeros((len(prompts), len(continuations)), dtype=np.float32)

    def generate(self, prompts, params):
        out = []
        for p in prompts:
            JsonTeacher.generated.append(p)
            text = p.rsplit("TEXT:", 1)[-1]
            if "awful" in text:
                ans = '{"reason": "The writer hated it.", "label": "negative"}'
            elif "great" in text:
                ans = 'Here is my answer: {"label": "Positive", "reason": "Enthusiastic."}'
            elif "sarcasm" in text:
                ans = '{"reason": "Sarcastic.", "label": "sarcastic"}'
            elif "riddle" in text:
                ans = "I cannot tell."
            else:
                ans = "```json\n{'reason': 'Plain statement.', 'label': 'neutral'}\n```"
            out.append(Generation(ans, len(p.split()), 12, "stop"))
        return out


@pytest.fixture
def json_teacher(monkeypatch):
    import sentidistill.engines as engines
    import sentidistill.teacher.worker as worker

    JsonTeacher.generated, JsonTeacher.scored = [], []
    monkeypatch.setattr(engines, "load_engine", lambda model, config: JsonTeacher())
    monkeypatch.setattr(worker, "_normal_priority", lambda: None)  # keep the test's nice level
    return JsonTeacher


WORDS = ["awful", "great", "sarcasm", "riddle", "plain"]


def make_corpus(root, n=40, domains=("imdb", "twitter", "yelp", "amazon")):
    texts = [f"this {WORDS[i % len(WORDS)]} text number {i} " + "x" * (i % 5) for i in range(n)]
    df = pl.DataFrame(
        {
            "row": list(range(n)),
            "id": [content_id(t) for t in texts],
            "domain": [domains[i % len(domains)] for i in range(n)],
            "source": ["s"] * n,
            "origin": ["o"] * n,
            "file": ["f.jsonl"] * n,
            "line": list(range(1, n + 1)),
            "text": texts,
            "normalized": texts,
        }
    )
    write_parquet(df, root / "clean.parquet", CORPUS_CLEAN)
    pool = df.head(4).with_columns(pl.lit("knowdist").alias("pool"), pl.int_range(4, dtype=pl.Int64).alias("pool_rank"))
    write_parquet(pool, root / "knowdist_pool.parquet", POOL)
    return df


def label_params(**over) -> LabelParams:
    base = dict(load_params()["classifier"]["labels"])
    base.update(n_texts=20, soft_labels=True, method="cot_json")  # the notebook path; method score has its own test
    base.update(over)
    return parse_section("classifier.labels", base, LabelParams)


def classifier_teacher(**over):
    samp = {
        c: {"max_new_tokens": 16, "temperature": 0.0, "top_p": 1.0, "seed": 0}
        for c in ("knowdist", "icldist", "icldist_demo_labels", "classifier_labels")
    }
    return teacher_params(sampling=samp, **over)
