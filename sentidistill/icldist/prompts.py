"""ICLDist prompts (paper Section 2.2; Appendix A.2, Tables 11 and 12).

A prompt is ``'\\n'.join([instruction, '', *demos, query])`` with each demonstration
``Sentence: {text}\\nOutput: {label}\\n`` and the query ``Sentence: {text}\\nOutput:``
(the layout of Tables 11-12 and of the SentiBench prompts, Appendix B.2). Demonstrations
are 1-16 (a random count per prompt, Appendix A.2).

Demonstration labels come from the teacher: stage ``icldist_demo_labels`` asks it to label
a small pool of corpus texts zero-shot (the BASIC/LT instruction with no demonstrations),
once for sentiment (canonical words, rendered into every label-word set: the labels are
the same, only their spelling changes) and once per emotion taxonomy. The paper instead
used 55 texts annotated by GPT-4o and checked by hand (Section 2.2, footnote 3).

Format diversification (Table 6) is drawn per prompt from a seeded RNG keyed by the text
id: label words (LW), taxonomy (LT), minimized instruction (MI), and the number and
choice of demonstrations. Task diversification (TD) adds Super-NaturalInstructions
prompts (:mod:`sentidistill.icldist.natinst`) in the proportions of ``icldist.prompts.mixture``.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Sequence
from typing import Any, Literal

import polars as pl
from pydantic import Field, model_validator

from sentidistill.icldist.formats import SENTIMENT_CANONICAL, FormatParams
from sentidistill.icldist.parse import Parsed, parse_multi, parse_single, render_multi
from sentidistill.knowdist.prompts import prompt_id
from sentidistill.params import StrictModel
from sentidistill.schemas.columns import column_dtypes
from sentidistill.schemas.teacher import ICLDIST_PROMPTS

Task = Literal["sentiment", "emotion", "natinst"]

#: Columns of the ICLDist prompt table (schemas/teacher.py ICLDIST_PROMPTS), in order.
ICL_PROMPT_COLUMNS = column_dtypes(ICLDIST_PROMPTS)

Instruction = Literal["full", "minimized"]

_NO_REASONING = "Do not provide any reasoning or explanation and directly output the final answer."

#: Table 11 (BASIC / LW): ``{labels}`` is the Python list of the label words.
SENTIMENT_INSTRUCTION = (
    "Please perform sentiment classification task. The label should be one of the following: {labels}. "
    "In your classification, consider the overall content, tone, emotional language, and any contextual "
    "clues that indicate the sentiment behind the sentence. " + _NO_REASONING
)
#: Table 12 (BASIC / LT).
EMOTION_INSTRUCTION = (
    "Please perform emotion detection task. Identify and extract all emotions present in the sentence. "
    "The emotions to consider are from the following list: {labels}. In your analysis, take into account "
    "the language used, context, and any emotional expressions or cues that indicate multiple emotions. "
    + _NO_REASONING
)
#: Tables 11-12 (MI): the task lives in the demonstrations only.
MINIMIZED_INSTRUCTION = "Please complete the task according to the following examples. " + _NO_REASONING


def instruction_for(task: Literal["sentiment", "emotion"], labels: Sequence[str], style: Instruction) -> str:
    if style == "minimized":
        return MINIMIZED_INSTRUCTION
    template = SENTIMENT_INSTRUCTION if task == "sentiment" else EMOTION_INSTRUCTION
    return template.format(labels=str(list(labels)))


def format_demo(text: str, label: str) -> str:
    return f"Sentence: {text}\nOutput: {label}\n"


def format_query(text: str) -> str:
    return f"Sentence: {text}\nOutput:"


def build_prompt(instruction: str, demos: Sequence[tuple[str, str]], query: str) -> str:
    """``demos`` are ``(text, rendered label)`` pairs."""
    return "\n".join([instruction, "", *(format_demo(t, lab) for t, lab in demos), format_query(query)])


def seed_of(*parts: object) -> int:
    """A 64-bit integer from SHA-256 of ``parts`` (never ``hash()``, which is salted per process)."""
    digest = hashlib.sha256("\x1f".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "big")


def seeded_rng(*parts: object) -> random.Random:
    return random.Random(seed_of(*parts))


# --------------------------------------------------------------------------- demo labels
DemoLabelMethod = Literal["generate", "score"]


class DemoLabelParams(StrictModel):
    """``icldist.demo_labels``: the texts the teacher labels zero-shot to serve as demos."""

    n_texts: int = Field(ge=1, description="demo texts, from the ICLDist pool in pool_rank order")
    min_chars: int = Field(ge=1)
    max_chars: int = Field(ge=1, description="'user-generated text of a suitable length' (footnote 3)")
    method: DemoLabelMethod = Field(
        "generate",
        description="generate: the teacher's greedy answer, parsed; score: the argmax of its next-token scores over "
        "the label set (same label whenever the greedy answer is a label; one prefill, no decoding; single-label)",
    )
    taxonomies: list[str] | None = Field(
        None, description="emotion taxonomies to label (null = every taxonomy the formats use)"
    )

    @model_validator(mode="after")
    def _range(self) -> DemoLabelParams:
        if self.min_chars > self.max_chars:
            raise ValueError(f"min_chars ({self.min_chars}) > max_chars ({self.max_chars})")
        return self


def select_demo_texts(pool: pl.DataFrame, params: DemoLabelParams) -> pl.DataFrame:
    """The first ``n_texts`` pool texts (pool_rank order) whose length is in range."""
    n = pool["normalized"].str.len_chars()
    picked = pool.filter((n >= params.min_chars) & (n <= params.max_chars)).sort("pool_rank").head(params.n_texts)
    if picked.height < params.n_texts:
        raise ValueError(
            f"icldist.demo_labels.n_texts={params.n_texts} but only {picked.height} pool texts have "
            f"{params.min_chars}-{params.max_chars} characters: widen the range or lower n_texts"
        )
    return picked


def demo_label_requests(
    demo_texts: pl.DataFrame, formats: FormatParams, taxonomies: Sequence[str] | None = None
) -> pl.DataFrame:
    """Zero-shot labeling prompts: sentiment once (canonical words), emotion per taxonomy.

    ``candidates`` is the label set the instruction lists (what a scorer chooses from).
    Rows come job by job (all sentiment prompts, then each taxonomy's), so prompts that
    share an instruction follow each other.
    """
    names = list(taxonomies) if taxonomies is not None else formats.taxonomy_names()
    unknown = [n for n in names if n not in formats.taxonomies]
    if unknown:
        raise ValueError(f"icldist.demo_labels.taxonomies: {unknown} are not in icldist.formats.taxonomies")
    rows = []
    jobs: list[tuple[str, str, list[str]]] = [("sentiment", formats.basic_words, list(SENTIMENT_CANONICAL))]
    jobs += [("emotion", name, formats.taxonomies[name]) for name in names]
    texts = list(demo_texts.sort("pool_rank").iter_rows(named=True))
    for task, label_set, labels in jobs:
        for r in texts:
            msg = build_prompt(instruction_for(task, labels, "full"), [], r["normalized"])  # type: ignore[arg-type]
            rows.append(
                {
                    "prompt_id": prompt_id("icldist-demo", r["id"], task, label_set),
                    "text_id": r["id"],
                    "domain": r["domain"],
                    "text": r["normalized"],
                    "task": task,
                    "label_set": label_set,
                    "user_message": msg,
                    "candidates": list(labels),
                }
            )
    return pl.DataFrame(
        rows,
        schema={
            "prompt_id": pl.Utf8,
            "text_id": pl.Utf8,
            "domain": pl.Utf8,
            "text": pl.Utf8,
            "task": pl.Utf8,
            "label_set": pl.Utf8,
            "user_message": pl.Utf8,
            "candidates": pl.List(pl.Utf8),
        },
    )


def parse_answer(task: str, label_set: str, response: str, formats: FormatParams) -> Parsed:
    """Parse a sentiment/emotion answer against the label set the prompt showed."""
    if task == "sentiment":
        words = formats.label_words.get(label_set, list(SENTIMENT_CANONICAL))
        return parse_single(response, words)
    if task == "emotion":
        return parse_multi(response, formats.taxonomies[label_set], formats.taxonomy_aliases.get(label_set))
    raise ValueError(f"no label parser for task {task!r}")


# --------------------------------------------------------------------------- ICL prompts
class MixtureParams(StrictModel):
    sentiment: float = Field(ge=0)
    emotion: float = Field(ge=0)
    natinst: float = Field(ge=0)


class ICLPromptParams(StrictModel):
    """``icldist.prompts``."""

    seed: int = Field(ge=0)
    n_prompts: int = Field(ge=1, description="sentiment + emotion + natinst prompts")
    mixture: MixtureParams
    min_demos: int = Field(ge=1)
    max_demos: int = Field(ge=1)
    max_text_chars: int | None = Field(None, ge=1, description="skip longer target texts (null: no limit)")
    answer_source: Literal["teacher", "demo_labels"] = Field(
        "teacher",
        description="teacher: the teacher answers each ICL prompt (the paper); demo_labels: the query is itself a "
        "teacher-labeled demo text and its label is the answer (prompts recombined from labels, no teacher call)",
    )
    teacher_answer_share: float = Field(
        0.0,
        ge=0,
        le=1,
        description="answer_source demo_labels: this share of the recombined prompts (seeded by prompt id) is "
        "answered by the teacher in context instead of by the query's zero-shot label, which stays in gold "
        "for the agreement count",
    )

    @model_validator(mode="after")
    def _check(self) -> ICLPromptParams:
        if self.min_demos > self.max_demos:
            raise ValueError(f"min_demos ({self.min_demos}) > max_demos ({self.max_demos})")
        m = self.mixture
        if m.sentiment + m.emotion + m.natinst <= 0:
            raise ValueError("mixture: at least one weight must be positive")
        return self

    def quotas(self) -> tuple[int, int]:
        """(sentiment + emotion prompts, natinst prompts): natinst gets its exact share."""
        m = self.mixture
        nat = round(self.n_prompts * m.natinst / (m.sentiment + m.emotion + m.natinst))
        return self.n_prompts - nat, nat


def demo_pools(labels: pl.DataFrame, formats: FormatParams) -> dict[tuple[str, str], list[tuple[str, tuple[str, ...]]]]:
    """Usable demos per (task, label set): ``(text, canonical labels)`` in text-id order.

    ``labels`` is the demo-label table (rows whose parse failed are left out here).
    """
    ok = labels.filter(pl.col("parse_error").is_null()).sort("text_id")
    pools: dict[tuple[str, str], list[tuple[str, tuple[str, ...]]]] = {}
    for r in ok.iter_rows(named=True):
        pools.setdefault((r["task"], r["label_set"]), []).append((r["text"], tuple(r["labels"])))
    return pools


def _render(task: str, label_set: str, canonical: tuple[str, ...], formats: FormatParams) -> str:
    if task == "sentiment":
        return formats.to_words(canonical[0], label_set)  # demo labels are stored canonical
    return render_multi(canonical)


def icl_prompt_for(
    text_id: str,
    text: str,
    task: Literal["sentiment", "emotion"],
    formats: FormatParams,
    params: ICLPromptParams,
    pools: dict[tuple[str, str], list[tuple[str, tuple[str, ...]]]],
    *,
    variant: int | None = None,
    taxonomies: Sequence[str] | None = None,
) -> dict[str, Any]:
    """One ICL prompt row; every random choice comes from an RNG keyed by (seed, text id)
    (and ``variant``: the j-th prompt of a recombined corpus, where a text can be the query
    of several prompts). The query text never appears among its own demonstrations;
    ``taxonomies`` limits the emotion label sets (default: every one the formats use)."""
    rng = (
        seeded_rng("icldist", params.seed, text_id)
        if variant is None
        else seeded_rng("icldist", params.seed, text_id, variant)
    )
    if task == "sentiment":
        label_set = rng.choice(formats.word_sets())
        allowed = formats.label_words[label_set]
        pool = pools.get(("sentiment", formats.basic_words), [])
    else:
        label_set = rng.choice(list(taxonomies) if taxonomies is not None else formats.taxonomy_names())
        allowed = formats.taxonomies[label_set]
        pool = pools.get(("emotion", label_set), [])
    pool = [d for d in pool if d[0] != text]
    style: Instruction = "full"
    if formats.minimized_instruction and rng.random() < formats.minimized_instruction_prob:
        style = "minimized"
    if len(pool) < params.min_demos:
        raise ValueError(
            f"only {len(pool)} labeled demos for {task}/{label_set} (< min_demos={params.min_demos}): raise "
            "icldist.demo_labels.n_texts"
        )
    k = rng.randint(params.min_demos, min(params.max_demos, len(pool)))
    demos = [(t, _render(task, label_set, labs, formats)) for t, labs in rng.sample(pool, k)]
    msg = build_prompt(instruction_for(task, allowed, style), demos, text)
    return {
        "prompt_id": prompt_id(
            "icldist", text_id, task, label_set, style, *(() if variant is None else (str(variant),))
        ),
        "text_id": text_id,
        "task": task,
        "label_set": label_set,
        "instruction": style,
        "format": f"{label_set}+{style}",
        "allowed_labels": list(allowed),
        "n_demos": k,
        "user_message": msg,
    }


def task_of(text_id: str, params: ICLPromptParams) -> Literal["sentiment", "emotion"]:
    """Sentiment or emotion for a text, by the mixture's relative weights (seeded per text)."""
    m = params.mixture
    total = m.sentiment + m.emotion
    if total <= 0:
        raise ValueError("icldist.prompts.mixture: sentiment + emotion must be positive when prompts need them")
    return "sentiment" if seeded_rng("icldist-task", params.seed, text_id).random() < m.sentiment / total else "emotion"
