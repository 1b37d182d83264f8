"""In-context evaluation of one model on SentiBench (Section 4.1).

For every dataset and seed: a fixed, stratified subsample of the test split (the same
for every model and seed, so comparisons are paired), each example with its own
freshly sampled demonstrations, then

* classification: one forward pass, next-token logits restricted to each label's first
  token (the authors' scorer), or the full label log-likelihood when first tokens collide;
* fine-grained: greedy generation; the answer is read by the authors' rules
  (``parser: official``, :mod:`sentidistill.sentibench.official`) or by the forgiving
  ``lenient`` parser (:mod:`sentidistill.sentibench.parsing`).

Every example ends up in the predictions table, scored or marked unparseable.
Finished (dataset, seed) chunks are checkpointed under ``.cache/sentibench/`` keyed by a
fingerprint of the model and the prompts, so a killed run resumes where it stopped. A chunk's
raw outputs are parsed again on every read, so switching the parser costs no generation. A chunk
that cannot be read (truncated, garbled, other columns or examples) is moved to ``corrupt/`` in
the checkpoint folder with a warning (kept, never deleted) and computed again.
"""

from __future__ import annotations

import hashlib
import json
import math
import statistics
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

import polars as pl
from pydantic import Field, field_validator

from sentidistill.engines import Engine, EngineConfig, GenerationParams
from sentidistill.faults import failpoint
from sentidistill.io import write_parquet
from sentidistill.log import get_logger, progress_bar
from sentidistill.params import StrictModel
from sentidistill.schemas.columns import column_dtypes
from sentidistill.schemas.sentibench_datasets import (
    CATEGORIES,
    DATASETS,
    DEFAULT_PROMPT_TEXT,
    DatasetSpec,
    PromptText,
    get_spec,
)
from sentidistill.schemas.sentibench_predictions import PredictionsSchema
from sentidistill.sentibench import metrics as M
from sentidistill.sentibench import official
from sentidistill.sentibench.parsing import ParseStatus, answer_end, parse_fsa_output
from sentidistill.sentibench.prompts import build_prompt, demos_for

log = get_logger(__name__)

ScoringMode = Literal["first_token", "full_loglik", "auto"]
Parser = Literal["official", "lenient"]

#: subfolder of a checkpoint folder where unreadable chunks are kept for inspection
CORRUPT_DIR = "corrupt"
#: characters of a read error kept in the warning (a polars message can be a page long)
_ERROR_CHARS = 200


class EvalParams(StrictModel):
    """``sentibench.eval`` in params.yaml."""

    datasets: list[str] = Field(default_factory=lambda: list(DATASETS))
    shots: int = Field(default=4, ge=0, description="demonstrations per example (Section 4.1: 4)")
    shots_per_dataset: dict[str, int] = Field(default_factory=dict)
    demo_split: Literal["dev", "train"] = Field(
        default="dev", description="pool of demonstrations: dev (Section 4.1) or train (the authors' code)"
    )
    parser: Parser = Field(
        default="official",
        description="fine-grained answers: official = the authors' scorer's rules; lenient = recover more answers",
    )
    prompt_text: PromptText = Field(
        default=DEFAULT_PROMPT_TEXT,
        description="prompt wording: code = the authors' code (Table 2); paper = Tables 13-15",
    )
    seeds: list[int] = Field(default_factory=lambda: [0, 1, 2], min_length=1)
    max_test_examples: int | None = Field(default=None, ge=1, description="null = the full test split")
    max_test_examples_per_dataset: dict[str, int | None] = Field(default_factory=dict)
    subsample_seed: int = 0
    # Disjoint test examples for choosing a configuration and for confirming it: "screening" =
    # the first screening_size examples of each test split (stratified, screening_seed),
    # "confirmation" = the rest; test examples are then drawn inside that part.
    test_partition: Literal["all", "screening", "confirmation"] = "all"
    screening_size: int = Field(default=150, ge=1)
    screening_seed: int = 0
    scoring: ScoringMode = "auto"
    max_new_tokens: int = Field(default=150, ge=1, description="fine-grained generation budget (authors: 150)")
    stop_at_answer: bool = True
    chunk_size: int = Field(default=32, ge=1, description="prompts per engine call (progress granularity)")

    @field_validator("datasets")
    @classmethod
    def _known(cls, v: list[str]) -> list[str]:
        unknown = [d for d in v if d not in DATASETS]
        if unknown:
            raise ValueError(f"unknown datasets {unknown}; allowed: {list(DATASETS)}")
        return v

    def shots_for(self, dataset: str) -> int:
        return self.shots_per_dataset.get(dataset, self.shots)

    def limit_for(self, dataset: str) -> int | None:
        return self.max_test_examples_per_dataset.get(dataset, self.max_test_examples)


class EvalModel(StrictModel):
    """One entry of ``sentibench.models``: what to evaluate and how to run it."""

    model: str = Field(description="registry name, role, HF folder or GGUF path")
    engine: EngineConfig = Field(default_factory=EngineConfig)
    eval: dict[str, Any] = Field(
        default_factory=dict,
        description="overrides of sentibench.eval for this entry only (e.g. fewer examples for a slow reference "
        "model); a model compared with another must share its examples, so leave the compared entries alone",
    )

    def eval_params(self, shared: EvalParams) -> EvalParams:
        """``sentibench.eval`` with this entry's overrides (validated as a whole)."""
        if not self.eval:
            return shared
        return EvalParams.model_validate({**shared.model_dump(), **self.eval})


# ------------------------------------------------------------------------------ data
def stratified_subsample(test: pl.DataFrame, n: int | None, seed: int, stratify: str | None) -> pl.DataFrame:
    """At most ``n`` rows, label proportions kept (largest remainder), order by a seeded hash."""

    def rank(ids: pl.Series) -> pl.Series:
        return ids.map_elements(lambda x: hashlib.sha256(f"{seed}\x1f{x}".encode()).hexdigest(), return_dtype=pl.String)

    test = test.with_columns(_rank=rank(test["example_id"])).sort("_rank")
    if n is None or n >= test.height:
        return test.drop("_rank").sort("example_id")
    if stratify is None:
        return test.head(n).drop("_rank").sort("example_id")
    counts = test.group_by(stratify).len().sort(stratify)
    quotas = {r[stratify]: n * r["len"] / test.height for r in counts.iter_rows(named=True)}
    alloc = {k: math.floor(q) for k, q in quotas.items()}
    for k in sorted(quotas, key=lambda k: (-(quotas[k] - alloc[k]), str(k)))[: n - sum(alloc.values())]:
        alloc[k] += 1
    parts = [test.filter(pl.col(stratify) == k).head(m) for k, m in alloc.items() if m]
    return pl.concat(parts).drop("_rank").sort("example_id")


def prompt_hash(prompt: str) -> str:
    return hashlib.sha256(prompt.encode("utf-8")).hexdigest()[:16]


# --------------------------------------------------------------------------- scoring
def choose_scoring(engine: Engine, labels: Sequence[str], mode: ScoringMode) -> tuple[str, list[int]]:
    """Resolve ``auto``: first-token scoring unless two labels share their first token."""
    first = engine.first_token_ids(list(labels))
    collide = len(set(first)) < len(first)
    if mode == "first_token" and collide:
        raise ValueError(
            f"labels {list(labels)} share first tokens {first} under this tokenizer; "
            "set sentibench.eval.scoring to full_loglik (or auto)"
        )
    if mode == "auto":
        mode = "full_loglik" if collide else "first_token"
    return mode, first


def _by_instruction(prompts: list[str], instructions: list[str]) -> list[list[int]]:
    groups: dict[str, list[int]] = defaultdict(list)
    for i, ins in enumerate(instructions):
        groups[ins].append(i)
    return list(groups.values())


def score_classification(
    engine: Engine, spec: DatasetSpec, prompts: list[str], instructions: list[str], mode: str, first_ids: list[int]
) -> list[list[float]]:
    """Per-prompt label scores (logits or log-likelihoods), in ``spec.labels`` order."""
    out: list[list[float] | None] = [None] * len(prompts)
    for idx in _by_instruction(prompts, instructions):  # one shared prefix per call
        sub = [prompts[i] for i in idx]
        if mode == "first_token":
            scores = engine.next_token_logits(sub, first_ids)
        else:
            scores = engine.continuation_logprobs(sub, [" " + lab for lab in spec.labels])
        for i, row in zip(idx, scores):
            out[i] = [float(x) for x in row]
    return [s for s in out if s is not None]


# ------------------------------------------------------------------------ evaluation
def _fingerprint(engine: Engine, mode: str, prompts: list[str], extra: dict[str, Any]) -> str:
    h = hashlib.sha256(json.dumps({"engine": engine.identity(), "mode": mode, **extra}, sort_keys=True).encode())
    for p in prompts:
        h.update(prompt_hash(p).encode())
    return h.hexdigest()[:20]


def _read_chunk(ckpt: Path, example_ids: list[str]) -> tuple[pl.DataFrame | None, str | None]:
    """(the finished chunk, None), or (None, why it cannot be reused)."""
    try:
        cached = pl.read_parquet(ckpt)
    except Exception as exc:  # noqa: BLE001 - polars/arrow raise several types for a damaged file
        first = (str(exc).strip().splitlines() or [""])[0]
        return None, f"unreadable ({type(exc).__name__}: {first[:_ERROR_CHARS]})"
    if dict(cached.schema) != PREDICTION_COLUMNS:
        return None, f"not a predictions chunk (columns {dict(cached.schema)})"
    if cached["example_id"].to_list() != example_ids:
        return None, f"a chunk of other examples ({cached.height} rows, this run has {len(example_ids)})"
    if cached["raw_output"].null_count():
        return None, "missing raw outputs"
    return cached, None


def _set_aside(ckpt: Path, problem: str) -> Path | None:
    """Move a damaged chunk to ``corrupt/`` (name + time; never over an earlier one) and say so;
    None when another process set it aside first."""
    dest_dir = ckpt.parent / CORRUPT_DIR
    dest_dir.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%S")
    dest = dest_dir / f"{ckpt.name}.{stamp}.corrupt"
    n = 1
    while dest.exists():
        n += 1
        dest = dest_dir / f"{ckpt.name}.{stamp}-{n}.corrupt"
    try:
        ckpt.replace(dest)
    except FileNotFoundError:
        return None
    log.warning(
        "SentiBench checkpoint %s is %s; moved to %s (kept for inspection, not deleted); computing this chunk again",
        ckpt,
        problem,
        dest,
    )
    return dest


def load_chunk(ckpt: Path, example_ids: list[str], set_aside: list[Path] | None = None) -> pl.DataFrame | None:
    """The finished chunk at ``ckpt``, or None when there is none to reuse: a damaged one is
    moved to ``corrupt/`` (its new path appended to ``set_aside``) so only it is recomputed."""
    if not ckpt.exists():
        return None
    cached, problem = _read_chunk(ckpt, example_ids)
    if problem is None:
        return cached
    dest = _set_aside(ckpt, problem)
    if dest is not None and set_aside is not None:
        set_aside.append(dest)
    return None


def evaluate_dataset_seed(
    engine: Engine,
    spec: DatasetSpec,
    test: pl.DataFrame,
    pool: pl.DataFrame,
    seed: int,
    params: EvalParams,
    on_progress: Callable[[int], None] = lambda n: None,
    checkpoint_dir: Path | None = None,
    set_aside: list[Path] | None = None,
) -> pl.DataFrame:
    """Predictions of one (dataset, seed): one row per test example, none dropped.

    ``set_aside`` collects the damaged checkpoints moved to ``corrupt/`` (for the stage's log and metrics)."""
    k = params.shots_for(spec.key)
    rows = test.to_dicts()
    prompts, instructions = [], []
    for r in rows:
        demos = demos_for(spec.key, seed, r["example_id"], pool, k)
        prompts.append(build_prompt(spec, demos, r, params.prompt_text))
        instructions.append(spec.render_instruction(r.get("target") if spec.has_target else None, params.prompt_text))

    mode, first_ids = ("generate", [])
    if spec.is_classification:
        mode, first_ids = choose_scoring(engine, spec.labels, params.scoring)
    fp = _fingerprint(engine, mode, prompts, {"max_new_tokens": params.max_new_tokens, "stop": params.stop_at_answer})
    ckpt = checkpoint_dir / f"{spec.key}-seed{seed}-{fp}.parquet" if checkpoint_dir else None
    cached = load_chunk(ckpt, [r["example_id"] for r in rows], set_aside) if ckpt is not None else None
    if cached is not None:
        log.info("%s seed %d: reusing finished chunk %s", spec.key, seed, ckpt.name)
        on_progress(len(rows))
        return parse_predictions(cached, spec, rows, prompts, k, params.parser)

    parts = []
    for start in range(0, len(rows), params.chunk_size):
        sl = slice(start, start + params.chunk_size)
        # each engine call's rows are checkpointed too, so a kill mid-dataset loses one call's work
        part_path = ckpt.with_name(f"{ckpt.stem}.part{start:06d}.parquet") if ckpt is not None else None
        part = load_chunk(part_path, [r["example_id"] for r in rows[sl]], set_aside) if part_path else None
        if part is None:
            part = _score_rows(engine, spec, seed, rows[sl], prompts[sl], instructions[sl], mode, first_ids, params)
            if part_path is not None:
                write_parquet(part, part_path)
                failpoint("sentibench.chunk_done", str(part_path))
        parts.append(part)
        on_progress(len(prompts[sl]))
    df = pl.concat(parts) if parts else pl.DataFrame(schema=PREDICTION_COLUMNS)
    if ckpt is not None:
        write_parquet(df, ckpt)  # atomic: a kill or a full disk never leaves a truncated chunk
        for start in range(0, len(rows), params.chunk_size):  # the whole chunk replaces its parts
            ckpt.with_name(f"{ckpt.stem}.part{start:06d}.parquet").unlink(missing_ok=True)
    return parse_predictions(df, spec, rows, prompts, k, params.parser)


def _score_rows(
    engine: Engine,
    spec: DatasetSpec,
    seed: int,
    rows: list[dict[str, Any]],
    prompts: list[str],
    instructions: list[str],
    mode: str,
    first_ids: list[int],
    params: EvalParams,
) -> pl.DataFrame:
    """Raw outputs (label scores or generations) of one engine call's rows, unparsed."""
    raw: list[str] = []
    scores: list[list[float] | None] = []
    n_tokens: list[int] = []
    if spec.is_classification:
        chunk_scores = score_classification(engine, spec, prompts, instructions, mode, first_ids)
        scores.extend(chunk_scores)
        raw.extend(spec.labels[max(range(len(s)), key=s.__getitem__)] for s in chunk_scores)
        n_tokens.extend(len(engine.tokenize(p)) for p in prompts)
    else:
        gen_params = GenerationParams(
            max_new_tokens=params.max_new_tokens, stop_when=answer_end if params.stop_at_answer else None
        )
        gens = []
        for idx in _by_instruction(prompts, instructions):
            sub = engine.generate([prompts[i] for i in idx], gen_params)
            gens.extend(zip(idx, sub))
        gens.sort(key=lambda t: t[0])
        raw.extend(g.text for _, g in gens)
        scores.extend(None for _ in gens)
        n_tokens.extend(g.n_prompt_tokens for _, g in gens)
    out_rows = []
    for r, p, text, sc, nt in zip(rows, prompts, raw, scores, n_tokens):
        out_rows.append(
            {
                "dataset": spec.key,
                "seed": seed,
                "example_id": r["example_id"],
                "prompt_hash": prompt_hash(p),
                "n_prompt_tokens": nt,
                "scoring": mode,
                "raw_output": text,
                "label_scores": sc,
                "prediction": "",
                "gold": r["label"] if spec.is_classification else r["gold_json"],
                "parse_status": "",
            }
        )
    return pl.DataFrame(out_rows, schema=PREDICTION_COLUMNS)


def parse_prediction(
    spec: DatasetSpec, row: dict[str, Any], prompt: str, raw: str, k_shot: int, parser: Parser
) -> tuple[str, str]:
    """(prediction, parse_status) of one raw output.

    Classification: the arg-max label. Fine-grained, ``official``: the JSON list of what the
    authors' scorer counts (a tuple of strings, or ``null`` for a prediction that counts but
    can never match); ``lenient``: the JSON list of recovered tuples.
    """
    if spec.is_classification:
        return raw, ParseStatus.OK.value
    if parser == "official":
        line = official.answer_line(prompt, raw, k_shot)
        op = official.parse(spec.kind, line, row["sentence"])
        return json.dumps([list(t) if t is not None else None for t in op.items]), op.status.value
    parsed = parse_fsa_output(raw, spec)
    return json.dumps([list(t) for t in parsed.tuples]), parsed.status.value


def parse_predictions(
    df: pl.DataFrame, spec: DatasetSpec, rows: list[dict[str, Any]], prompts: list[str], k_shot: int, parser: Parser
) -> pl.DataFrame:
    """``df`` with ``prediction``/``parse_status`` derived from ``raw_output`` by ``parser``."""
    parsed = [
        parse_prediction(spec, r, p, text, k_shot, parser)
        for r, p, text in zip(rows, prompts, df["raw_output"], strict=True)
    ]
    return df.with_columns(
        prediction=pl.Series([pred for pred, _ in parsed], dtype=pl.String),
        parse_status=pl.Series([status for _, status in parsed], dtype=pl.String),
    )


#: Columns of the cached prediction chunks: the predictions schema without the model column.
PREDICTION_COLUMNS = column_dtypes(PredictionsSchema, drop=("model",))


def partition_test(test: pl.DataFrame, params: EvalParams, stratify: str | None) -> pl.DataFrame:
    """The screening or confirmation part of a test split (``params.test_partition``)."""
    if params.test_partition == "all":
        return test
    screening = stratified_subsample(test, params.screening_size, params.screening_seed, stratify)
    if params.test_partition == "screening":
        return screening
    return test.join(screening.select("example_id"), on="example_id", how="anti")


def select_tests(data: dict[str, pl.DataFrame], params: EvalParams) -> dict[str, tuple[pl.DataFrame, pl.DataFrame]]:
    """(test subsample, demo pool) per dataset."""
    out = {}
    for key in params.datasets:
        spec = get_spec(key)
        df = data[key]
        test = df.filter(pl.col("split") == "test")
        pool = df.filter(pl.col("split") == params.demo_split)
        stratify = "label" if spec.is_classification else None
        test = partition_test(test, params, stratify)
        out[key] = (stratified_subsample(test, params.limit_for(key), params.subsample_seed, stratify), pool)
    return out


def evaluate_model(
    engine: Engine,
    data: dict[str, pl.DataFrame],
    params: EvalParams,
    *,
    name: str,
    checkpoint_dir: Path | None = None,
    set_aside: list[Path] | None = None,
) -> pl.DataFrame:
    """All datasets × seeds for one model, with one progress bar (rate and ETA); damaged
    checkpoints moved to ``corrupt/`` are appended to ``set_aside``."""
    selected = select_tests(data, params)
    total = sum(t.height for t, _ in selected.values()) * len(params.seeds)
    parts = []
    with progress_bar(total, desc=f"SentiBench {name}", unit="ex") as bar:
        for key, (test, pool) in selected.items():
            for seed in params.seeds:
                bar.set_postfix_str(f"{key} seed {seed}")
                parts.append(
                    evaluate_dataset_seed(
                        engine, get_spec(key), test, pool, seed, params, bar.update, checkpoint_dir, set_aside
                    )
                )
    return pl.concat(parts).with_columns(pl.lit(name).alias("model")).select(["model", *PREDICTION_COLUMNS])


def effective_config(params: EvalParams, predictions: pl.DataFrame) -> dict[str, Any]:
    """What the numbers were computed with, per dataset (for the metrics JSON and reports):
    a reader needs no params.yaml to know the protocol behind a number."""
    datasets = predictions["dataset"].unique(maintain_order=True).to_list()
    per = {k: predictions.filter(pl.col("dataset") == k) for k in datasets}
    return {
        "datasets": datasets,
        "shots": {k: params.shots_for(k) for k in datasets},
        "demo_split": params.demo_split,
        "seeds": sorted(predictions["seed"].unique().to_list()),
        "n_examples": {k: per[k]["example_id"].n_unique() for k in datasets},
        "subsample_seed": params.subsample_seed,
        "test_partition": {
            "part": params.test_partition,
            "screening_size": params.screening_size,
            "screening_seed": params.screening_seed,
        },
        "scoring": {k: per[k]["scoring"][0] for k in datasets},
        "parser": params.parser,
        "prompt_text": params.prompt_text,
        "max_new_tokens": params.max_new_tokens,
        "stop_at_answer": params.stop_at_answer,
    }


# --------------------------------------------------------------------------- metrics
def _seed_score(spec: DatasetSpec, preds: pl.DataFrame, test: pl.DataFrame | None, parser: Parser) -> dict[str, float]:
    if spec.is_classification:
        s = M.classification_scores(preds["gold"].to_list(), preds["prediction"].to_list())
        return {"f1": 100 * s.macro_f1, "accuracy": 100 * s.accuracy}
    pred_t = [[tuple(t) if t is not None else None for t in json.loads(p)] for p in preds["prediction"]]
    if spec.kind == "ssa":
        assert test is not None
        by_id = {r["example_id"]: r for r in test.iter_rows(named=True)}
        rows = [by_id[e] for e in preds["example_id"]]
        if parser == "official":
            sent_ids = [r["source_id"] or r["example_id"] for r in rows]
            prf = official.ssa_f1(sent_ids, [r["sentence"] for r in rows], [r["opinions"] for r in rows], pred_t)
        else:
            prf = M.ssa_f1([r["sentence"] for r in rows], [r["opinions"] for r in rows], pred_t)
    elif parser == "official":
        prf = official.micro_f1([M.gold_tuples(g) for g in preds["gold"]], pred_t)
    else:
        prf = M.tuple_micro_f1([M.gold_tuples(g) for g in preds["gold"]], pred_t)
    return {"f1": 100 * prf.f1, "precision": 100 * prf.precision, "recall": 100 * prf.recall}


def summarize(predictions: pl.DataFrame, data: dict[str, pl.DataFrame], parser: Parser = "official") -> dict[str, Any]:
    """Metrics JSON: per dataset (mean/std over seeds), per category, and the average (Table 2).

    ``parser`` must be the one that produced the fine-grained ``prediction`` column."""
    out: dict[str, Any] = {"datasets": {}}
    for key in predictions["dataset"].unique(maintain_order=True).to_list():
        spec = get_spec(key)
        # SSA's metric needs the gold opinions with their char offsets
        test = data[key].filter(pl.col("split") == "test") if spec.kind == "ssa" else None
        sub = predictions.filter(pl.col("dataset") == key)
        per_seed = {}
        for seed in sorted(sub["seed"].unique().to_list()):
            per_seed[str(seed)] = _seed_score(spec, sub.filter(pl.col("seed") == seed), test, parser)
        f1s = [v["f1"] for v in per_seed.values()]
        status_counts = dict(sub.group_by("parse_status").len().iter_rows())
        n_seeds = len(per_seed)
        entry = {
            "f1": round(statistics.fmean(f1s), 4),
            "f1_std": round(statistics.stdev(f1s), 4) if len(f1s) > 1 else 0.0,
            "n_examples": sub.height // max(n_seeds, 1),
            "n_seeds": n_seeds,
            "n_unparseable": int(
                status_counts.get(ParseStatus.UNPARSEABLE.value, 0)
                + status_counts.get(ParseStatus.SCORER_CRASH.value, 0)
            ),
            "parser": "label_scores" if spec.is_classification else parser,
            "parse_status": {k: int(v) for k, v in sorted(status_counts.items())},
            "per_seed": {s: {k: round(v, 4) for k, v in d.items()} for s, d in per_seed.items()},
        }
        if spec.is_classification:
            entry["accuracy"] = round(statistics.fmean(v["accuracy"] for v in per_seed.values()), 4)
        out["datasets"][key] = entry
    cats = {}
    for cat in CATEGORIES:
        vals = [out["datasets"][k]["f1"] for k, s in DATASETS.items() if s.category == cat and k in out["datasets"]]
        if vals:
            cats[cat] = round(statistics.fmean(vals), 4)
    out["categories"] = cats
    all_f1 = [d["f1"] for d in out["datasets"].values()]
    out["avg"] = round(statistics.fmean(all_f1), 4) if all_f1 else None
    out["n_datasets"] = len(all_f1)
    return out
