"""Stage logic of ``sentibench_eval@<entry>``: one entry of ``sentibench.models`` evaluated on
SentiBench, its predictions and summary written (``sentidistill sentibench-eval`` runs the same
code on any model: :mod:`sentidistill.sentibench.adhoc`)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import polars as pl
from pydantic import RootModel

from sentidistill import paths
from sentidistill.engines import load_engine
from sentidistill.headline import write_stats
from sentidistill.io import read_parquet, write_parquet
from sentidistill.log import get_logger
from sentidistill.params import PARAMS_FILE, ParamsError, load_section
from sentidistill.provenance import code_revision, library_versions, repo_relative
from sentidistill.schemas.sentibench import schema_for
from sentidistill.schemas.sentibench_datasets import get_spec
from sentidistill.schemas.sentibench_predictions import PredictionsSchema
from sentidistill.sentibench.evaluate import EvalModel, EvalParams, effective_config, evaluate_model, summarize

log = get_logger(__name__)

#: per-entry chunk checkpoints (one parquet per dataset x seed, keyed by the model's weights)
CHECKPOINTS = paths.ROOT / ".cache" / "sentibench"


class ModelEntries(RootModel[dict[str, EvalModel]]):
    """``sentibench.models``: entry name -> what to evaluate and how."""


def load_entries(path: str | Path = PARAMS_FILE) -> dict[str, EvalModel]:
    """Every entry of ``sentibench.models``, validated (in params.yaml order)."""
    return load_section("sentibench.models", ModelEntries, path).root


def resolve_entry(entry: str, path: str | Path = PARAMS_FILE) -> tuple[EvalParams, EvalModel]:
    """One entry and its effective evaluation settings (``sentibench.eval`` + the entry's ``eval``)."""
    models = load_entries(path)
    if entry not in models:
        raise ParamsError(f"sentibench.models has no entry {entry!r}; entries: {sorted(models)}")
    model = models[entry]
    shared = load_section("sentibench.eval", EvalParams, path)
    try:
        return model.eval_params(shared), model
    except ValueError as exc:
        raise ParamsError(f"sentibench.models.{entry}.eval: {exc}") from None


def load_benchmark(data_dir: Path, datasets: list[str]) -> dict[str, pl.DataFrame]:
    """The ingested SentiBench parquet of each dataset, re-validated with its schema."""
    return {k: read_parquet(data_dir / f"{k}.parquet", schema_for(k)) for k in datasets}


def evaluate_entry(
    entry: str,
    eval_params: EvalParams,
    model: EvalModel,
    *,
    data_dir: Path = paths.SENTIBENCH_DATA,
    out_dir: Path = paths.DATA / "sentibench_eval",
    metrics_dir: Path = paths.STATS / "sentibench",
    checkpoint_dir: Path | None = CHECKPOINTS,
) -> dict[str, Any]:
    """Evaluate ``model`` as ``entry``: ``<out_dir>/<entry>/predictions.parquet`` and
    ``<metrics_dir>/<entry>.json`` (summary, effective config, provenance, timings)."""
    for key in eval_params.datasets:
        get_spec(key)
    data = load_benchmark(data_dir, eval_params.datasets)
    t0 = time.perf_counter()
    engine = load_engine(model.model, model.engine)
    load_s = time.perf_counter() - t0
    set_aside: list[Path] = []  # damaged checkpoints moved to corrupt/ (recomputed)
    try:
        ckpt = checkpoint_dir / entry if checkpoint_dir else None
        t1 = time.perf_counter()
        preds = evaluate_model(engine, data, eval_params, name=entry, checkpoint_dir=ckpt, set_aside=set_aside)
        eval_s = time.perf_counter() - t1
    finally:
        engine.close()
    write_parquet(preds, out_dir / entry / "predictions.parquet", PredictionsSchema)
    summary = summarize(preds, data, eval_params.parser)
    summary.update(
        model=entry,
        model_ref=repo_relative(model.model, paths.ROOT),
        engine=repo_relative(engine.identity(), paths.ROOT),
        config=effective_config(eval_params, preds),
        provenance={**code_revision(paths.ROOT), "versions": library_versions()},
        examples_scored=preds.height,
        load_seconds=round(load_s, 2),
        eval_seconds=round(eval_s, 2),
    )
    if set_aside:  # only then: the metrics of a clean run keep exactly the keys they had
        summary["corrupt_chunks_set_aside"] = len(set_aside)
        log.warning(
            "%s: %d damaged checkpoint chunk(s) set aside and recomputed: %s",
            entry,
            len(set_aside),
            ", ".join(p.name for p in set_aside),
        )
    write_stats(metrics_dir / f"{entry}.json", summary)
    log.info(
        "%s: avg F1 %.2f over %d datasets (%d predictions, %.0fs)",
        entry,
        summary["avg"],
        summary["n_datasets"],
        preds.height,
        eval_s,
    )
    return summary
