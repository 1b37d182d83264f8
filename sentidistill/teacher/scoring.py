"""The teacher's label distribution over a closed set of answers, without decoding.

For a classification prompt the teacher's answer is one of a few label words; its
next-token distribution over their first tokens gives the label (the argmax: the greedy
answer whenever the greedy answer is a label) *and* its confidence, for the cost of one
prefill. Prompts that share a prefix (instruction, chat template, fixed demonstrations)
are scored consecutively, so llama.cpp evaluates that prefix once and each text costs only
its own tokens (``LlamaCppEngine._eval_reusing_prefix``). Label sets whose first tokens
collide fall back to whole-label log-likelihoods.

Same cache and accounting as generation (:mod:`sentidistill.teacher.generate`): one row per
cache key ``sha256(teacher identity, {"method": "label_scores", candidates}, full prompt)``,
the scores stored as JSON in the shard's ``response``; a killed run loses at most
``teacher.cache.shard_rows`` rows and resumes with the rest.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from sentidistill.faults import record_engine_calls
from sentidistill.log import get_logger, progress_bar
from sentidistill.teacher.cache import TeacherCache
from sentidistill.teacher.identity import cache_key
from sentidistill.teacher.resolve import ResolvedTeacher

log = get_logger(__name__)

METHOD = "label_scores"


def _normalize(logits: np.ndarray) -> list[float]:
    """Log-softmax over the candidates (a distribution over the label set only)."""
    x = logits.astype(np.float64)
    m = float(x.max())
    z = m + math.log(float(np.exp(x - m).sum()))
    return [round(float(v - z), 6) for v in x]


def score_candidates(
    engine: Any, prompts: list[str], candidates: list[str], *, parse_special: bool
) -> list[list[float]]:
    """Log-probabilities of ``candidates`` (normalized over them) after each prompt."""
    first = [engine.tokenize(c, add_special_tokens=False)[0] for c in candidates]
    if len(set(first)) == len(first):
        logits = engine.next_token_logits(prompts, first, parse_special=parse_special)
    else:  # first tokens collide: whole-candidate log-likelihoods
        logits = engine.continuation_logprobs(prompts, candidates)
    return [_normalize(row) for row in np.asarray(logits)]


def score_table(
    requests: pl.DataFrame, teacher: ResolvedTeacher, name: str, cache_root: str | Path
) -> tuple[pl.DataFrame, dict[str, Any]]:
    """Score every row of ``requests`` (``prompt_id``, ``user_message``, ``candidates``) through
    the cache namespace ``<cache_root>/<name>``.

    Returns ``requests`` + ``prompt``, ``key``, ``scores`` (log-probabilities in candidate
    order), ``cache_hit``; and run stats. Rows are scored grouped by candidate set, in
    request order within a group, so prompts that share a prefix follow each other.
    """
    ident = teacher.identity
    prompts = teacher.prompts(requests["user_message"].to_list())
    cands = requests["candidates"].to_list()
    keys = [cache_key(ident, {"method": METHOD, "candidates": list(c)}, p) for p, c in zip(prompts, cands)]
    req = requests.with_columns(pl.Series("prompt", prompts, dtype=pl.Utf8), pl.Series("key", keys, dtype=pl.Utf8))
    cache = TeacherCache(Path(cache_root) / name)
    stale = cache.remove_stale_temp_files()
    cache.verify()
    unique = req.unique("key", keep="first", maintain_order=True)
    hit_keys = set(cache.lookup(unique["key"].to_list())["key"].to_list())
    missing = unique.filter(~pl.col("key").is_in(list(hit_keys)))
    label = teacher.label
    log.info(
        "%s: %d rows (%d unique), %d cached, %d to score",
        name,
        req.height,
        unique.height,
        len(hit_keys),
        missing.height,
    )
    t0 = time.perf_counter()
    if missing.height:
        engine = teacher.load_engine()
        shard = teacher.params.cache.shard_rows
        try:
            with progress_bar(missing.height, desc=f"teacher {name}", unit="text") as bar:
                for group in missing.partition_by("candidates", maintain_order=True):
                    cand = list(group["candidates"][0])
                    for start in range(0, group.height, shard):
                        part = group.slice(start, shard)
                        scores = score_candidates(
                            engine, part["prompt"].to_list(), cand, parse_special=teacher.parse_special
                        )
                        record_engine_calls(part["key"].to_list())
                        cache.append(
                            [
                                {
                                    "key": k,
                                    "response": json.dumps(s),
                                    "n_prompt_tokens": 0,
                                    "n_completion_tokens": 0,
                                    "finish_reason": METHOD,
                                    "engine": label,
                                }
                                for k, s in zip(part["key"].to_list(), scores)
                            ]
                        )
                        bar.update(part.height)
        finally:
            engine.close()
    seconds = time.perf_counter() - t0
    answers = cache.lookup(unique["key"].to_list()).select("key", pl.col("response").alias("_scores"))
    if answers.height != unique.height:  # pragma: no cover - every missing row was just scored
        raise RuntimeError(f"{unique.height - answers.height} rows have no scores after scoring")
    out = (
        req.join(answers, on="key", how="left", maintain_order="left")
        .with_columns(
            pl.col("_scores").str.json_decode(pl.List(pl.Float64)).alias("scores"),
            pl.col("key").is_in(list(hit_keys)).alias("cache_hit"),
        )
        .drop("_scores")
    )
    stats = {
        "rows": req.height,
        "unique_prompts": unique.height,
        "duplicate_prompts": req.height - unique.height,
        "cache_hits": len(hit_keys),
        "scored": missing.height,
        "seconds": round(seconds, 2),
        "texts_per_s": round(missing.height / seconds, 3) if missing.height and seconds > 0 else None,
        "method": METHOD,
        "engine": label,
        "teacher_identity": ident,
        "cache": {**cache.stats(), "stale_temp_files_removed": stale},
    }
    return out, stats
