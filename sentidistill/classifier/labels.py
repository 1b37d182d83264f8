"""Stage logic of ``classifier_labels``: the teacher labels a sample of corpus texts with a
one-sentence rationale and a label in a JSON answer (the notebook's chain-of-thought
labeling), through the same teacher service as the other teacher stages -- the teacher
resolved once (:func:`sentidistill.teacher.resolve.resolve_teacher`), its generation engine,
Ray runner and row cache (:func:`sentidistill.teacher.generate.generate_table`) or label
scores (:func:`sentidistill.teacher.scoring.score_table`), cache namespace ``classifier_labels``.

Texts: a seeded sample of the clean corpus, balanced over domains, disjoint from the
KnowDist and ICLDist pools, ``min_chars``-``max_chars`` characters long (the teacher labels
exactly the text the student is trained on; short texts keep the CPU teacher fast).

Every sampled text is a row of the output: an answer that cannot be parsed keeps its raw
response and a ``parse_error`` (see :mod:`sentidistill.classifier.parse`); the stats count
them (``rows = labeled + parse_failed``). With ``soft_labels: true`` each labeled row also
gets the teacher's label probabilities (:mod:`sentidistill.classifier.soft`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl

from sentidistill.classifier.config import LabelParams
from sentidistill.classifier.parse import PARSE_ERRORS, LabelMatcher, parse_answer
from sentidistill.corpus.pools import balanced_quotas, sampling_keys
from sentidistill.engines.base import Engine
from sentidistill.headline import write_stats
from sentidistill.io import read_parquet, write_parquet
from sentidistill.log import get_logger
from sentidistill.schemas.classifier import labels_schema
from sentidistill.schemas.columns import column_names
from sentidistill.schemas.corpus import CORPUS_CLEAN, POOL
from sentidistill.teacher.generate import generate_table
from sentidistill.teacher.resolve import ResolvedTeacher

log = get_logger(__name__)

CORPUS = "classifier_labels"


def prompt_id(text_id: str) -> str:
    return hashlib.blake2b(f"classifier-labels\x1f{text_id}".encode(), digest_size=8).hexdigest()


def select_texts(
    clean: pl.DataFrame, other_pools: list[pl.DataFrame], params: LabelParams
) -> tuple[pl.DataFrame, dict[str, Any]]:
    """``n_texts`` clean texts: in range, not in another pool, balanced over domains, seeded.

    Returns the rows (columns id, domain, text, rank) in sample order, and the accounting
    ``clean = in_other_pools + too_short + too_long + other_domain + not_selected + selected``.
    """
    taken = (
        pl.concat([p.select("id") for p in other_pools])
        if other_pools
        else pl.DataFrame({"id": []}, schema={"id": pl.Utf8})
    )
    n_chars = pl.col("normalized").str.len_chars()
    df = clean.select("id", "domain", "normalized", "row").with_columns(
        reason=pl.when(pl.col("id").is_in(taken["id"].implode()))
        .then(pl.lit("in_other_pools"))
        .when(n_chars < params.min_chars)
        .then(pl.lit("too_short"))
        .when(n_chars > params.max_chars)
        .then(pl.lit("too_long"))
        .when(pl.lit(params.domains is not None) & ~pl.col("domain").is_in(params.domains or []))
        .then(pl.lit("other_domain"))
    )
    eligible = df.filter(pl.col("reason").is_null())
    if params.domains is not None:
        missing = sorted(set(params.domains) - set(clean["domain"].unique().to_list()))
        if missing:
            raise ValueError(f"classifier.labels.domains names domains with no clean texts: {missing}")
    available = {d: int(n) for d, n in eligible.group_by("domain").len().iter_rows()}
    if sum(available.values()) < params.n_texts:
        raise ValueError(
            f"classifier.labels.n_texts={params.n_texts} but only {sum(available.values())} clean texts of "
            f"{params.min_chars}-{params.max_chars} characters are outside the other pools: lower n_texts or widen "
            "min_chars/max_chars"
        )
    quotas = balanced_quotas(params.n_texts, available)
    ranked = (
        eligible.with_columns(_key=pl.Series(sampling_keys(eligible["id"], params.seed), dtype=pl.UInt64))
        .sort("domain", "_key", "row")
        .with_columns(_rank=pl.int_range(pl.len(), dtype=pl.Int64).over("domain"))
    )
    picked = (
        ranked.filter(pl.col("_rank") < pl.col("domain").replace_strict(quotas, return_dtype=pl.Int64, default=0))
        .sort("_key", "row")
        .with_columns(rank=pl.int_range(pl.len(), dtype=pl.Int64))
        .select("id", "domain", pl.col("normalized").alias("text"), "rank")
    )
    counts = {r: int(n) for r, n in df.group_by("reason").len().iter_rows() if r is not None}
    stats = {
        "clean": clean.height,
        **{r: counts.get(r, 0) for r in ("in_other_pools", "too_short", "too_long", "other_domain")},
        "eligible": eligible.height,
        "not_selected": eligible.height - picked.height,
        "selected": picked.height,
        "by_domain": dict(sorted(picked.group_by("domain").len().iter_rows())),
    }
    assert stats["clean"] == sum(
        stats[k] for k in ("in_other_pools", "too_short", "too_long", "other_domain", "not_selected", "selected")
    )
    return picked, stats


def label_requests(texts: pl.DataFrame, params: LabelParams) -> pl.DataFrame:
    """One teacher request per text (``prompt_id``, ``user_message`` as generate_table needs)."""
    return texts.select(
        pl.col("id").map_elements(prompt_id, return_dtype=pl.Utf8).alias("prompt_id"),
        pl.col("id").alias("text_id"),
        "domain",
        "text",
        pl.col("text").map_elements(params.render, return_dtype=pl.Utf8).alias("user_message"),
    )


def parse_table(generated: pl.DataFrame, params: LabelParams) -> pl.DataFrame:
    """Parse every answer; adds label, label_id, raw_label, rationale, parse_method,
    parse_error and label_offset (where the label value starts in the response)."""
    matcher = LabelMatcher(params.labels, params.aliases)
    parsed = [
        parse_answer(r, matcher, label_key=params.label_key, reason_key=params.reason_key)
        for r in generated["response"].to_list()
    ]
    ids = {lab: i for i, lab in enumerate(params.labels)}
    return generated.with_columns(
        pl.Series("label", [p.label for p in parsed], dtype=pl.Utf8),
        pl.Series("label_id", [ids[p.label] if p.label is not None else None for p in parsed], dtype=pl.Int64),
        pl.Series("raw_label", [p.raw_label for p in parsed], dtype=pl.Utf8),
        pl.Series("rationale", [p.reason for p in parsed], dtype=pl.Utf8),
        pl.Series("parse_method", [p.method for p in parsed], dtype=pl.Utf8),
        pl.Series("parse_error", [p.error for p in parsed], dtype=pl.Utf8),
        pl.Series("label_offset", [p.label_offset for p in parsed], dtype=pl.Int64),
    )


# No cache_hit column: the labels file must not depend on the run's history (a resumed and an
# uninterrupted run write the same bytes); the stats JSON counts the cache hits.
OUTPUT_COLUMNS = column_names(labels_schema())


def _counts(s: pl.Series) -> dict[str, int]:
    return {str(k): int(v) for k, v in sorted(s.drop_nulls().value_counts().iter_rows())}


def run_labels(
    teacher: ResolvedTeacher,
    params: LabelParams,
    *,
    clean_path: Path,
    pool_paths: list[Path],
    out_path: Path,
    cache_root: Path,
    metrics_path: Path,
    engine_factory: Callable[[], Engine] | None = None,
) -> dict[str, Any]:
    """The whole stage: select, ask the teacher, parse, (soft labels), write parquet + stats.

    ``engine_factory`` builds the soft-label scorer's engine (default: the teacher's)."""
    from sentidistill.classifier import soft

    if params.soft_labels:
        soft.check_backend(teacher.params.engine.backend)  # fail before any teacher work
    clean = read_parquet(clean_path, CORPUS_CLEAN)
    pools = [read_parquet(p, POOL) for p in pool_paths]
    texts, selection = select_texts(clean, pools, params)
    del clean
    requests = label_requests(texts, params)
    if params.method == "score":
        table, gen_stats, soft_stats = score_labels(requests, teacher, params, cache_root)
        return _finish(table, gen_stats, soft_stats, params, selection, out_path, metrics_path)
    generated, gen_stats = generate_table(requests, teacher, CORPUS, cache_root)
    table = parse_table(generated, params)

    soft_stats: dict[str, Any] = {"enabled": params.soft_labels}
    probs: list[list[float] | None] = [None] * table.height
    if params.soft_labels:
        prefixes = [
            p + r[:off] if off is not None else None
            for p, r, off in zip(
                table["prompt"].to_list(), table["response"].to_list(), table["label_offset"].to_list()
            )
        ]
        probs, st = soft.soft_labels(
            prefixes,
            params.labels,
            identity=teacher.identity,
            cache_root=cache_root,
            engine_factory=engine_factory or teacher.load_engine,
            namespace=CORPUS,
        )
        labeled = table["label"].is_not_null()
        agree = [
            params.labels[max(range(len(pr)), key=pr.__getitem__)] == lab
            for pr, lab in zip(probs, table["label"].to_list())
            if pr is not None
        ]
        soft_stats.update(
            st,
            with_probs=sum(p is not None for p in probs),
            without_probs={
                "parse_failed": int((~labeled).sum()),
                "no_label_position": int((labeled & table["label_offset"].is_null()).sum()),
            },
            argmax_agrees_with_label=round(sum(agree) / len(agree), 4) if agree else None,
        )
    table = table.with_columns(pl.Series("soft_probs", probs, dtype=pl.List(pl.Float64))).select(OUTPUT_COLUMNS)
    return _finish(table, gen_stats, soft_stats, params, selection, out_path, metrics_path)


def score_labels(
    requests: pl.DataFrame, teacher: ResolvedTeacher, params: LabelParams, cache_root: Path
) -> tuple[pl.DataFrame, dict[str, Any], dict[str, Any]]:
    """Method ``score``: the argmax of the teacher's label scores; its probabilities are the soft labels."""
    import math

    from sentidistill.teacher.scoring import score_table

    candidates = requests.with_columns(pl.lit(list(params.labels)).alias("candidates"))
    scored, st = score_table(candidates, teacher, CORPUS, cache_root)
    probs = [[round(math.exp(x), 6) for x in s] for s in scored["scores"].to_list()]
    probs = [[v / sum(p) for v in p] for p in probs]
    best = [max(range(len(p)), key=p.__getitem__) for p in probs]
    table = scored.with_columns(
        pl.lit(st["engine"]).alias("engine"),
        pl.Series("response", [params.labels[i] for i in best], dtype=pl.Utf8),
        pl.lit("label_scores").alias("finish_reason"),
        pl.lit(0, dtype=pl.Int64).alias("n_completion_tokens"),
        pl.lit(None, dtype=pl.Utf8).alias("flag"),
        pl.Series("label", [params.labels[i] for i in best], dtype=pl.Utf8),
        pl.Series("label_id", best, dtype=pl.Int64),
        pl.Series("raw_label", [params.labels[i] for i in best], dtype=pl.Utf8),
        pl.lit(None, dtype=pl.Utf8).alias("rationale"),
        pl.lit("label_scores").alias("parse_method"),
        pl.lit(None, dtype=pl.Utf8).alias("parse_error"),
        pl.Series("soft_probs", probs, dtype=pl.List(pl.Float64)),
    ).select(OUTPUT_COLUMNS)
    gen = {**st, "generated": st["scored"], "generation_seconds": st["seconds"]}
    return table, gen, {"enabled": True, "method": "label_scores", "with_probs": table.height}


def _finish(
    table: pl.DataFrame,
    gen_stats: dict[str, Any],
    soft_stats: dict[str, Any],
    params: LabelParams,
    selection: dict[str, Any],
    out_path: Path,
    metrics_path: Path,
) -> dict[str, Any]:
    write_parquet(table, out_path, labels_schema(params.labels))

    ok = table.filter(pl.col("parse_error").is_null())
    gen_s = gen_stats.get("generation_seconds") or 0.0
    stats = {
        "selection": selection,
        "rows": table.height,
        "labeled": ok.height,
        "parse_failed": table.height - ok.height,
        "parse_errors": {e: int((table["parse_error"] == e).sum()) for e in PARSE_ERRORS},
        "parse_methods": _counts(ok["parse_method"]),
        "missing_rationale": int(ok["rationale"].is_null().sum()),
        "labels": {lab: int((ok["label"] == lab).sum()) for lab in params.labels},
        "labels_by_domain": {d: _counts(g["label"]) for (d,), g in sorted(ok.group_by("domain"))},
        "unknown_label_values": _counts(table.filter(pl.col("parse_error") == "unknown_label")["raw_label"]),
        "soft_labels": soft_stats,
        "teacher": gen_stats,
        "throughput": {
            "generated_texts": gen_stats.get("generated", 0),
            "generation_seconds": gen_s,
            "texts_per_s": round(gen_stats["generated"] / gen_s, 4) if gen_s else None,
        },
    }
    assert (
        stats["rows"]
        == stats["labeled"] + stats["parse_failed"]
        == stats["labeled"] + sum(stats["parse_errors"].values())
    )
    write_stats(metrics_path, stats)
    log.info(
        "classifier labels: %d/%d parsed (%s failed: %s) -> %s",
        ok.height,
        table.height,
        stats["parse_failed"],
        {k: v for k, v in stats["parse_errors"].items() if v},
        out_path,
    )
    return stats
