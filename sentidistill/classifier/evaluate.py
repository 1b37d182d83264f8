"""Stage logic of ``classifier_eval``: the trained encoder and the untrained encoder (the same
base with a seeded random head: "before distillation") on the SentiBench polarity test sets.

The label mapping is explicit (``classifier.eval.datasets``: dataset -> {classifier label:
dataset label}): a dataset label's score is the sum of the probabilities of the classifier
labels mapped to it; classifier labels that are not mapped are ignored for that dataset --
on the binary SST2/IMDb/Yelp2 the argmax runs over negative/positive only, ``neutral`` is
never predicted. Macro-F1 as the SentiBench metric (:mod:`sentidistill.sentibench.metrics`).

Encoders are evaluated on the full test splits (or a label-stratified subsample with
``max_test_examples``); the comparison with the LLMs on exactly the examples their
in-context evaluation used is drawn from these predictions by ``classifier_report``.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from sentidistill.classifier.config import ClassifierEvalParams
from sentidistill.classifier.predict import EncoderClassifier
from sentidistill.headline import write_stats
from sentidistill.io import read_parquet, write_parquet
from sentidistill.log import get_logger
from sentidistill.schemas.classifier import PREDICTIONS
from sentidistill.schemas.sentibench import schema_for
from sentidistill.schemas.sentibench_datasets import get_spec
from sentidistill.sentibench.evaluate import stratified_subsample
from sentidistill.sentibench.metrics import classification_scores

log = get_logger(__name__)

STUDENT = "encoder-student"
UNTRAINED = "untrained-encoder"


class MappingError(ValueError):
    """The label mapping names labels the classifier does not have."""


def map_probs(
    probs: np.ndarray, classifier_labels: Sequence[str], mapping: Mapping[str, str], dataset_labels: Sequence[str]
) -> tuple[list[str], np.ndarray]:
    """(predicted dataset labels, dataset-label scores ``[n, len(dataset_labels)]``).

    A dataset label's score is the summed probability of the classifier labels mapped to it;
    unmapped classifier labels do not take part (binary datasets: no ``neutral``).
    """
    unknown = sorted(set(mapping) - set(classifier_labels))
    if unknown:
        raise MappingError(
            f"classifier.eval.datasets maps {unknown}, which the classifier does not have (its labels: "
            f"{list(classifier_labels)}); fix the mapping or the label set classifier.labels.labels"
        )
    bad = sorted(set(mapping.values()) - set(dataset_labels))
    if bad:
        raise MappingError(f"mapping targets {bad} are not dataset labels {list(dataset_labels)}")
    proj = np.zeros((len(classifier_labels), len(dataset_labels)))
    for c, d in mapping.items():
        proj[list(classifier_labels).index(c), list(dataset_labels).index(d)] = 1.0
    scores = np.asarray(probs, dtype=np.float64) @ proj
    preds = [dataset_labels[j] for j in scores.argmax(axis=1)] if len(scores) else []
    return preds, scores


def load_tests(data_dir: Path, params: ClassifierEvalParams) -> dict[str, pl.DataFrame]:
    """The test split of each dataset (or its seeded, label-stratified subsample)."""
    out = {}
    for key in params.datasets:
        df = read_parquet(data_dir / f"{key}.parquet", schema_for(key)).filter(pl.col("split") == "test")
        out[key] = stratified_subsample(df, params.max_test_examples, params.subsample_seed, "label")
    return out


def evaluate_encoder(
    clf: EncoderClassifier, name: str, tests: Mapping[str, pl.DataFrame], params: ClassifierEvalParams
) -> tuple[pl.DataFrame, dict[str, Any]]:
    """Predictions (schema PREDICTIONS) and per-dataset scores of one encoder."""
    parts, scores, seconds = [], {}, {}
    for key, test in tests.items():
        spec = get_spec(key)
        t0 = time.perf_counter()
        probs = clf.predict_proba(test["sentence"].to_list(), batch_size=params.batch_size, desc=f"{name} {key}")
        seconds[key] = time.perf_counter() - t0
        preds, ds_scores = map_probs(probs, clf.labels, params.datasets[key], spec.labels)
        s = classification_scores(test["label"].to_list(), preds)
        scores[key] = {
            "f1": round(100 * s.macro_f1, 4),
            "accuracy": round(100 * s.accuracy, 4),
            "n_examples": test.height,
            "texts_per_s": round(test.height / seconds[key], 2) if seconds[key] else None,
        }
        parts.append(
            pl.DataFrame(
                {
                    "model": [name] * test.height,
                    "dataset": [key] * test.height,
                    "example_id": test["example_id"],
                    "gold": test["label"],
                    "prediction": preds,
                    "probs": [[round(float(x), 6) for x in row] for row in probs],
                    "dataset_scores": [[round(float(x), 6) for x in row] for row in ds_scores],
                },
                schema={
                    "model": pl.Utf8,
                    "dataset": pl.Utf8,
                    "example_id": pl.Utf8,
                    "gold": pl.Utf8,
                    "prediction": pl.Utf8,
                    "probs": pl.List(pl.Float64),
                    "dataset_scores": pl.List(pl.Float64),
                },
            )
        )
    f1s = [v["f1"] for v in scores.values()]
    total = sum(v["n_examples"] for v in scores.values())
    summary = {
        "datasets": scores,
        "avg": round(statistics.fmean(f1s), 4) if f1s else None,
        "n_examples": total,
        "texts_per_s": round(total / sum(seconds.values()), 2) if sum(seconds.values()) else None,
    }
    return pl.concat(parts), summary


def run_eval(
    params: ClassifierEvalParams,
    *,
    student_dir: Path,
    base_model: Path | str,
    data_dir: Path,
    out_path: Path,
    metrics_path: Path,
) -> dict[str, Any]:
    """Both encoders on every dataset of ``params.datasets``; writes predictions + metrics."""
    import torch

    if params.threads:
        torch.set_num_threads(params.threads)
    tests = load_tests(data_dir, params)
    student = EncoderClassifier.load(student_dir, max_length=params.max_length)
    untrained = EncoderClassifier.untrained(
        base_model, student.labels, seed=params.untrained_seed, max_length=student.max_length
    )
    frames, results = [], {}
    for name, clf in ((STUDENT, student), (UNTRAINED, untrained)):
        preds, summary = evaluate_encoder(clf, name, tests, params)
        frames.append(preds)
        results[name] = summary
        log.info(
            "%s: macro-F1 %s (avg %.2f)",
            name,
            {k: v["f1"] for k, v in summary["datasets"].items()},
            summary["avg"] or 0,
        )
    write_parquet(pl.concat(frames), out_path, PREDICTIONS)
    metrics = {
        "models": results,
        "labels": student.labels,
        "max_length": student.max_length,
        "mapping": params.datasets,
        "student_dir": str(student_dir),
        "base_model": str(base_model),
        "untrained_seed": params.untrained_seed,
        "full_test_splits": params.max_test_examples is None,
    }
    write_stats(metrics_path, metrics)
    return metrics
