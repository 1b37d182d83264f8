"""DVC stage ``sentibench_eval@<entry>``: evaluate one model of ``sentibench.models`` on SentiBench.

Writes ``data/sentibench_eval/<entry>/predictions.parquet`` (one row per example and
seed) and ``metrics/sentibench/<entry>.json`` (read by ``dvc metrics show/diff``).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import polars as pl

from schemas.sentibench import schema_for
from schemas.sentibench_datasets import get_spec
from schemas.sentibench_predictions import PredictionsSchema
from sentidistill import paths
from sentidistill.engines import load_engine
from sentidistill.headline import write_stats
from sentidistill.io import read_parquet, write_parquet
from sentidistill.log import get_logger
from sentidistill.params import ParamsError, load_params, parse_section
from sentidistill.provenance import code_revision, library_versions, repo_relative
from sentidistill.sentibench.evaluate import EvalModel, EvalParams, effective_config, evaluate_model, summarize

log = get_logger(__name__)

CHECKPOINTS = paths.ROOT / ".cache" / "sentibench"


def load_benchmark(data_dir: Path, datasets: list[str]) -> dict[str, pl.DataFrame]:
    """The ingested SentiBench parquet of each dataset, re-validated with its schema."""
    return {k: read_parquet(data_dir / f"{k}.parquet", schema_for(k)) for k in datasets}


def resolve_entry(entry: str) -> tuple[EvalParams, EvalModel]:
    params = load_params()
    bench = params.get("sentibench", {})
    models = bench.get("models", {})
    if entry not in models:
        raise ParamsError(f"sentibench.models has no entry {entry!r}; entries: {sorted(models)}")
    model = parse_section(f"sentibench.models.{entry}", models[entry], EvalModel)
    shared = parse_section("sentibench.eval", bench.get("eval"), EvalParams)
    try:
        return model.eval_params(shared), model
    except ValueError as exc:
        raise ParamsError(f"sentibench.models.{entry}.eval: {exc}") from None


def run(
    entry: str,
    eval_params: EvalParams,
    model: EvalModel,
    *,
    data_dir: Path = paths.SENTIBENCH_DATA,
    out_dir: Path = paths.DATA / "sentibench_eval",
    metrics_dir: Path = paths.STATS / "sentibench",
    checkpoint_dir: Path | None = CHECKPOINTS,
) -> dict:
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
        log.warning("%s: %d damaged checkpoint chunk(s) set aside and recomputed: %s", entry, len(set_aside),
                    ", ".join(p.name for p in set_aside))  # fmt: skip
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


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("entry", help="key of sentibench.models in params.yaml (e.g. base-student, teacher)")
    args = ap.parse_args(argv)
    eval_params, model = resolve_entry(args.entry)
    run(args.entry, eval_params, model)


if __name__ == "__main__":
    main()
