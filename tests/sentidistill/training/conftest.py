"""Synthetic teacher corpora that follow schemas/teacher.py, and a tiny random Llama with
SmolLM2's tokenizer and chat template (fast training tests; the real model is `slow`)."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import polars as pl
import pytest

from sentidistill.io import write_parquet
from sentidistill.schemas.teacher import ICLDIST_CORPUS, KNOWDIST_CORPUS

TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "chat_template.jinja")


def _gen_cols(msgs: list[str], responses: list[str], flags: list[str | None]) -> dict:
    return {
        "prompt": [f"<|im_start|>user\n{m}<|im_end|>\n<|im_start|>assistant\n" for m in msgs],
        "key": [hashlib.sha256(m.encode()).hexdigest() for m in msgs],
        "response": responses,
        "n_prompt_tokens": [len(m.split()) for m in msgs],
        "n_completion_tokens": [len(r.split()) for r in responses],
        "finish_reason": ["length" if f == "truncated" else "stop" for f in flags],
        "engine": ["fake"] * len(msgs),
        "flag": flags,
    }


def _policy(flags: list[str | None], exclude: tuple[str, ...]) -> dict:
    reasons = [f if f in exclude else None for f in flags]
    return {"keep": [r is None for r in reasons], "exclude_reason": reasons}


def make_knowdist(path: Path, n: int = 6, *, empty_rows: int = 1) -> pl.DataFrame:
    msgs = [f"Analyze the sentiment of the following text. Text: review number {i} was great fun" for i in range(n)]
    responses = [f"The text is positive because item {i} was fun." for i in range(n)]
    flags: list[str | None] = [None] * n
    for i in range(empty_rows):
        responses[i], flags[i] = "", "empty"
    df = pl.DataFrame(
        {
            "prompt_id": [f"{i:016x}" for i in range(n)],
            "text_id": [f"t{i}" for i in range(n)],
            "domain": ["yelp"] * n,
            "method": ["analyzing"] * n,
            "perspective": ["BASIC"] * n,
            "user_message": msgs,
            **_gen_cols(msgs, responses, flags),
            **_policy(flags, ("empty",)),
        }
    )
    return write_parquet(df, path, KNOWDIST_CORPUS)


def make_icldist(path: Path, n: int = 6, *, parse_failed: int = 1) -> pl.DataFrame:
    msgs = [
        f"Please perform sentiment classification task.\n\nSentence: it was {'good' if i % 2 else 'bad'} {i}\nOutput:"
        for i in range(n)
    ]
    responses = ["positive" if i % 2 else "negative" for i in range(n)]
    errors: list[str | None] = [None] * n
    for i in range(parse_failed):
        responses[i], errors[i] = "maybe", "unknown_label"
    flags: list[str | None] = [None] * n
    reasons = ["parse_failed" if e else None for e in errors]
    df = pl.DataFrame(
        {
            "prompt_id": [f"{i + 100:016x}" for i in range(n)],
            "text_id": [f"s{i}" for i in range(n)],
            "domain": ["twitter"] * n,
            "task": ["sentiment"] * n,
            "label_set": ["basic"] * n,
            "instruction": ["full"] * n,
            "format": ["basic"] * n,
            "allowed_labels": [["positive", "negative", "neutral"]] * n,
            "n_demos": [1] * n,
            "answer_source": ["teacher"] * n,
            "gold": [None] * n,
            "user_message": msgs,
            **_gen_cols(msgs, responses, flags),
            "parsed": [[r] if e is None else [] for r, e in zip(responses, errors)],
            "parse_error": errors,
            "keep": [r is None for r in reasons],
            "exclude_reason": reasons,
        },
        schema_overrides={"gold": pl.Utf8, "flag": pl.Utf8, "parse_error": pl.Utf8, "exclude_reason": pl.Utf8},
    )
    return write_parquet(df, path, ICLDIST_CORPUS)


@pytest.fixture()
def corpora(tmp_path) -> dict[str, Path]:
    paths = {"knowdist": tmp_path / "knowdist_corpus.parquet", "icldist": tmp_path / "icldist_corpus.parquet"}
    make_knowdist(paths["knowdist"])
    make_icldist(paths["icldist"])
    return paths


@pytest.fixture(scope="session")
def student_tokenizer_dir(tiny_model_paths) -> Path:
    return tiny_model_paths.hf_dir


@pytest.fixture(scope="session")
def tiny_llama(tmp_path_factory, tiny_model_paths) -> Path:
    """models/<name>/ layout (hf/ + manifest.json) with a 1-layer random Llama."""
    return make_tiny_llama(tmp_path_factory.mktemp("models"), tiny_model_paths.hf_dir)


def make_tiny_llama(models_dir: Path, tokenizer_dir: Path) -> Path:
    """``models_dir/tiny-llama``: a 1-layer random Llama (seed 0) with SmolLM2's tokenizer (also bench/faults.py)."""
    import json

    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    root = models_dir / "tiny-llama"
    hf = root / "hf"
    hf.mkdir(parents=True)
    for name in TOKENIZER_FILES:
        src = tokenizer_dir / name
        if src.exists():
            shutil.copy(src, hf / name)
    torch.manual_seed(0)
    cfg = LlamaConfig(
        vocab_size=49152,
        hidden_size=16,
        intermediate_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        num_key_value_heads=1,
        max_position_embeddings=512,
        tie_word_embeddings=True,
        bos_token_id=1,
        eos_token_id=2,
        pad_token_id=2,
    )
    LlamaForCausalLM(cfg).save_pretrained(hf)
    (root / "manifest.json").write_text(json.dumps({"name": "tiny-llama", "hf_dir": "hf", "gguf": None}))
    return root
