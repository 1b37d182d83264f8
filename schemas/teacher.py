"""pandera.polars schemas of the teacher-generation artifacts.

===========================================  =========================================
artifact                                     schema
===========================================  =========================================
data/knowdist/knowdist_prompts.parquet       :data:`KNOWDIST_PROMPTS`
data/icldist/demo_labels.parquet             :data:`DEMO_LABELS`
data/icldist/icldist_prompts.parquet         :data:`ICLDIST_PROMPTS`
data/knowdist/knowdist_corpus.parquet        :data:`KNOWDIST_CORPUS`
data/icldist/icldist_corpus.parquet          :data:`ICLDIST_CORPUS`
data/<corpus>/<corpus>_cache_hits.parquet    :data:`CACHE_HITS` (what this run took from the cache)
data/teacher_cache/<corpus>/*.parquet        :data:`CACHE_SHARD`
===========================================  =========================================

Corpus rows: ``user_message`` is what the student is trained on, ``prompt`` what the
teacher saw (the user message inside the chat template), ``key`` the cache key,
``flag`` marks ``empty`` or ``truncated`` (finish_reason ``length``) responses, and
``keep`` / ``exclude_reason`` apply the training-set exclusion policy.
"""

from __future__ import annotations

import pandera.polars as pa
import polars as pl

#: KnowDist prompt axes (Tables 9-10): two methods x five perspectives.
METHODS = ("analyzing", "rewriting")
PERSPECTIVES = ("BASIC", "TARGET", "EXPRESSION", "EMOTION", "BACKGROUND")
#: Why an ICLDist answer gave no label (sentidistill/icldist/parse.py).
PARSE_ERRORS = ("empty", "unknown_label", "no_label", "multiple_labels", "not_a_list")
#: "label_scores": no decoding, the label read from the teacher's next-token scores (teacher/scoring.py)
#: "error": the engine failed on the row after its retries (never in the cache; a rerun retries it)
FINISH_REASONS = ("stop", "length", "label_scores", "error")
CACHED_FINISH_REASONS = tuple(r for r in FINISH_REASONS if r != "error")
FLAGS = ("empty", "truncated", "teacher_error")
#: Reasons a row leaves the training set, in the order they are checked ("teacher_error"
#: always applies: such a row has no answer).
EXCLUDE_REASONS = ("teacher_error", "empty", "truncated", "parse_failed", "label_balance")

_HEX16 = pa.Check.str_matches(r"^[0-9a-f]{16}$")
_SHA256 = pa.Check.str_matches(r"^[0-9a-f]{64}$")


def _non_empty(data: pa.PolarsData) -> pl.LazyFrame:
    return data.lazyframe.select(pl.col(data.key).str.len_chars() > 0)


NON_EMPTY = pa.Check(_non_empty, name="non_empty", error="empty string")
TASKS = ("sentiment", "emotion", "natinst")


def _keep_iff_no_reason(data: pa.PolarsData) -> pl.LazyFrame:
    return data.lazyframe.select((pl.col("keep") == pl.col("exclude_reason").is_null()).alias("keep_ok"))


KEEP_CHECK = pa.Check(
    _keep_iff_no_reason, name="keep_iff_no_exclude_reason", error="keep must equal exclude_reason is null"
)

_PROMPT_BASE = {
    "prompt_id": pa.Column(pl.Utf8, _HEX16, unique=True),
    "text_id": pa.Column(pl.Utf8, NON_EMPTY),
    "domain": pa.Column(pl.Utf8, NON_EMPTY),
}

KNOWDIST_PROMPTS = pa.DataFrameSchema(
    {
        **_PROMPT_BASE,
        "method": pa.Column(pl.Utf8, pa.Check.isin(list(METHODS))),
        "perspective": pa.Column(pl.Utf8, pa.Check.isin(list(PERSPECTIVES))),
        "user_message": pa.Column(pl.Utf8, NON_EMPTY),
    },
    strict=True,
    ordered=True,
    name="knowdist_prompts",
)

_ICL_COLS = {
    **_PROMPT_BASE,
    "task": pa.Column(pl.Utf8, pa.Check.isin(list(TASKS))),
    "label_set": pa.Column(pl.Utf8, NON_EMPTY),
    "instruction": pa.Column(pl.Utf8, pa.Check.isin(["full", "minimized"])),
    "format": pa.Column(pl.Utf8, NON_EMPTY),
    "allowed_labels": pa.Column(pl.List(pl.Utf8)),
    "n_demos": pa.Column(pl.Int64, pa.Check.ge(0)),
    # teacher: the teacher answers the prompt; gold: SNI reference output; demo_labels: the query
    # is a teacher-labeled text, its answer that label (icldist.prompts.answer_source)
    "answer_source": pa.Column(pl.Utf8, pa.Check.isin(["teacher", "gold", "demo_labels"])),
    "gold": pa.Column(pl.Utf8, nullable=True),
    "user_message": pa.Column(pl.Utf8, NON_EMPTY),
}

ICLDIST_PROMPTS = pa.DataFrameSchema(_ICL_COLS, strict=True, ordered=True, name="icldist_prompts")

_GEN_COLS = {
    "prompt": pa.Column(pl.Utf8, NON_EMPTY),
    "key": pa.Column(pl.Utf8, _SHA256),
    "response": pa.Column(pl.Utf8),
    "n_prompt_tokens": pa.Column(pl.Int64, pa.Check.ge(0)),
    "n_completion_tokens": pa.Column(pl.Int64, pa.Check.ge(0)),
    "finish_reason": pa.Column(pl.Utf8, pa.Check.isin(list(FINISH_REASONS))),
    "engine": pa.Column(pl.Utf8, NON_EMPTY),
    "flag": pa.Column(pl.Utf8, pa.Check.isin(list(FLAGS)), nullable=True),
}
_POLICY_COLS = {
    "keep": pa.Column(pl.Boolean),
    "exclude_reason": pa.Column(pl.Utf8, pa.Check.isin(list(EXCLUDE_REASONS)), nullable=True),
}

KNOWDIST_CORPUS = pa.DataFrameSchema(
    {**KNOWDIST_PROMPTS.columns, **_GEN_COLS, **_POLICY_COLS},
    checks=[KEEP_CHECK],
    strict=True,
    ordered=True,
    name="knowdist_corpus",
)

ICLDIST_CORPUS = pa.DataFrameSchema(
    {
        **_ICL_COLS,
        **_GEN_COLS,
        "parsed": pa.Column(pl.List(pl.Utf8)),
        "parse_error": pa.Column(pl.Utf8, pa.Check.isin(list(PARSE_ERRORS)), nullable=True),
        **_POLICY_COLS,
    },
    checks=[KEEP_CHECK],
    strict=True,
    ordered=True,
    name="icldist_corpus",
)

DEMO_LABELS = pa.DataFrameSchema(
    {
        **_PROMPT_BASE,
        "text": pa.Column(pl.Utf8, NON_EMPTY),
        "task": pa.Column(pl.Utf8, pa.Check.isin(["sentiment", "emotion"])),
        "label_set": pa.Column(pl.Utf8, NON_EMPTY),
        "response": pa.Column(pl.Utf8),
        "finish_reason": pa.Column(pl.Utf8, pa.Check.isin(list(FINISH_REASONS))),
        "labels": pa.Column(pl.List(pl.Utf8)),
        "parse_error": pa.Column(pl.Utf8, pa.Check.isin(list(PARSE_ERRORS)), nullable=True),
        # method score: the teacher's log-probabilities over the label set (its order); null for generate
        "label_logprobs": pa.Column(pl.List(pl.Float64), nullable=True),
    },
    unique=["text_id", "task", "label_set"],
    strict=True,
    ordered=True,
    name="icldist_demo_labels",
)

CACHE_HITS = pa.DataFrameSchema(
    {
        "prompt_id": pa.Column(pl.Utf8, _HEX16, unique=True),
        "key": pa.Column(pl.Utf8, _SHA256),
        "cache_hit": pa.Column(pl.Boolean),
    },
    strict=True,
    ordered=True,
    name="teacher_cache_hits",
)

CACHE_SHARD = pa.DataFrameSchema(
    {
        "key": pa.Column(pl.Utf8, _SHA256, unique=True),
        "response": pa.Column(pl.Utf8),
        "n_prompt_tokens": pa.Column(pl.Int64, pa.Check.ge(0)),
        "n_completion_tokens": pa.Column(pl.Int64, pa.Check.ge(0)),
        "finish_reason": pa.Column(pl.Utf8, pa.Check.isin(list(CACHED_FINISH_REASONS))),
        "engine": pa.Column(pl.Utf8, NON_EMPTY),
    },
    strict=True,
    ordered=True,
    name="teacher_cache_shard",
)
