"""KnowDist prompts (paper Section 2.1; Appendix A, Tables 9 and 10), verbatim.

Two prompting methods -- *analyzing* and *rewriting* -- each in five variants: BASIC and
the four perspectives of the multi-perspective prompting (MPP) strategy (TARGET,
EXPRESSION, EMOTION, BACKGROUND). A prompt is the instruction, a blank line and
``Text: {text}`` exactly as the tables print it.

Which methods and perspectives are used, and how many distinct prompts each text gets,
are parameters, so the ablations of Table 5 are expressible:

===================  ==========================  ==========================================
Table 5 row          methods                     perspectives
===================  ==========================  ==========================================
ANL, no MPP          [analyzing]                 [BASIC]
ANL + MPP            [analyzing]                 all five
RW, no MPP           [rewriting]                 [BASIC]
RW + MPP             [rewriting]                 all five
ANL + RW + MPP       [analyzing, rewriting]      all five (the default)
===================  ==========================  ==========================================

The prompt table is teacher-independent: the teacher stage applies the teacher's chat
template to ``user_message`` (the student is trained on ``user_message`` -> response).
"""

from __future__ import annotations

import hashlib
import random
from typing import Literal

import polars as pl
from pydantic import Field, model_validator

from sentidistill.params import StrictModel
from sentidistill.schemas.columns import column_dtypes
from sentidistill.schemas.teacher import KNOWDIST_PROMPTS
from sentidistill.schemas.teacher import METHODS as _SCHEMA_METHODS
from sentidistill.schemas.teacher import PERSPECTIVES as _SCHEMA_PERSPECTIVES

Method = Literal["analyzing", "rewriting"]
Perspective = Literal["BASIC", "TARGET", "EXPRESSION", "EMOTION", "BACKGROUND"]

METHODS: tuple[Method, ...] = _SCHEMA_METHODS  # type: ignore[assignment]
PERSPECTIVES: tuple[Perspective, ...] = _SCHEMA_PERSPECTIVES  # type: ignore[assignment]

_REWRITE_TAIL = "Prior to presenting the rewritten version, outline your thought process for the rephrasing."

#: Table 9 (analyzing) and Table 10 (rewriting), word for word.
INSTRUCTIONS: dict[tuple[Method, Perspective], str] = {
    ("analyzing", "BASIC"): (
        "Analyze the overall sentiment of the following text. Provide a brief explanation supporting your conclusion."
    ),
    ("analyzing", "TARGET"): (
        "Given a text, list the mentioned opinion targets, analyzing the evaluated aspects and the "
        "corresponding sentiments. Provide brief explanations supporting your conclusions."
    ),
    ("analyzing", "EXPRESSION"): (
        "Identify all sentiment expressions in the following text, i.e., those words or phrases that "
        "convey sentiment or emotion. For each sentiment expression, provide a clear explanation of how "
        "it contributes to the overall sentiment."
    ),
    ("analyzing", "EMOTION"): (
        "Analyze the following text and identify any emotions being expressed, such as happiness, "
        "sadness, anger, fear, surprise, or disgust. For each emotion identified, explain how it is "
        "reflected in the text."
    ),
    ("analyzing", "BACKGROUND"): (
        "Analyze the sentiment or emotions of the following text. Before your analysis, provide the "
        "necessary background knowledge or context towards the mentioned opinion targets and explain "
        "how the context influences these sentiment and emotions."
    ),
    ("rewriting", "BASIC"): (
        "Rewrite the following text to ensure it retains the original sentiment and tone, but presents "
        f"it in a rephrased or alternative way. {_REWRITE_TAIL}"
    ),
    ("rewriting", "TARGET"): (
        "Rewrite the following text, ensuring that the opinion target of the text is clearly emphasized "
        f"along with the specific aspect being evaluated. {_REWRITE_TAIL}"
    ),
    ("rewriting", "EXPRESSION"): (
        f"Rewrite the following text while focusing on the sentiment expressions used. {_REWRITE_TAIL}"
    ),
    ("rewriting", "EMOTION"): (
        "Rewrite the following text by highlighting the expressed emotions (such as happiness, sadness, "
        f"anger, fear, surprise, or disgust). {_REWRITE_TAIL}"
    ),
    ("rewriting", "BACKGROUND"): (
        "Rewrite the following text to enhance sentiment clarity by incorporating necessary background "
        f"knowledge or context. {_REWRITE_TAIL}"
    ),
}


def build_prompt(method: Method, perspective: Perspective, text: str) -> str:
    """The user message: instruction, blank line, ``Text: {text}`` (Tables 9-10)."""
    return f"{INSTRUCTIONS[(method, perspective)]}\n\nText: {text}"


class KnowDistPromptParams(StrictModel):
    """``knowdist.prompts`` in params.yaml."""

    seed: int = Field(ge=0)
    n_texts: int = Field(ge=1, description="texts taken from the KnowDist pool, in pool_rank order")
    methods: list[Method] = Field(min_length=1)
    perspectives: list[Perspective] = Field(min_length=1)
    prompts_per_text: int = Field(ge=1, description="distinct (method, perspective) prompts per text")
    max_text_chars: int | None = Field(None, ge=1, description="skip longer texts (null: no limit)")

    @model_validator(mode="after")
    def _enough_variants(self) -> KnowDistPromptParams:
        n = len(set(self.methods)) * len(set(self.perspectives))
        if self.prompts_per_text > n:
            raise ValueError(
                f"prompts_per_text={self.prompts_per_text} but only {n} (method, perspective) pairs are "
                "enabled: lower it or enable more methods/perspectives"
            )
        return self


def _rng(seed: int, text_id: str) -> random.Random:
    digest = hashlib.sha256(f"knowdist\x1f{seed}\x1f{text_id}".encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def variants_for(text_id: str, params: KnowDistPromptParams) -> list[tuple[Method, Perspective]]:
    """The (method, perspective) pairs of one text: a seeded sample that depends only on
    (seed, text id, enabled variants), so adding texts never changes other texts' prompts."""
    pairs = [(m, p) for m in METHODS if m in params.methods for p in PERSPECTIVES if p in params.perspectives]
    return _rng(params.seed, text_id).sample(pairs, params.prompts_per_text)


def prompt_id(*parts: str) -> str:
    """Stable 16-hex id of a prompt row (BLAKE2b of its defining fields)."""
    return hashlib.blake2b("\x1f".join(parts).encode("utf-8"), digest_size=8).hexdigest()


def build_prompts(pool: pl.DataFrame, params: KnowDistPromptParams) -> tuple[pl.DataFrame, dict[str, int]]:
    """Prompt rows for the first ``n_texts`` eligible pool texts (``pool_rank`` order).

    Returns the table (columns of ``schemas.teacher.KNOWDIST_PROMPTS``) and counts.
    """
    ranked = pool.sort("pool_rank")
    n_pool = ranked.height
    too_long = 0
    if params.max_text_chars is not None:
        long_mask = ranked["normalized"].str.len_chars() > params.max_text_chars
        too_long = int(long_mask.sum())
        ranked = ranked.filter(~long_mask)
    chosen = ranked.head(params.n_texts)
    rows = []
    for r in chosen.iter_rows(named=True):
        for method, perspective in variants_for(r["id"], params):
            msg = build_prompt(method, perspective, r["normalized"])
            rows.append(
                {
                    "prompt_id": prompt_id("knowdist", r["id"], method, perspective),
                    "text_id": r["id"],
                    "domain": r["domain"],
                    "method": method,
                    "perspective": perspective,
                    "user_message": msg,
                }
            )
    df = pl.DataFrame(
        rows,
        schema=column_dtypes(KNOWDIST_PROMPTS),
    )
    stats = {
        "pool_texts": n_pool,
        "skipped_too_long": too_long,
        "not_selected": n_pool - too_long - chosen.height,
        "texts": chosen.height,
        "prompts": df.height,
    }
    if chosen.height < params.n_texts:
        raise ValueError(
            f"knowdist.prompts.n_texts={params.n_texts} but only {chosen.height} pool texts are eligible: "
            "lower n_texts, raise max_text_chars or corpus.pools.knowdist_size"
        )
    return df, stats
