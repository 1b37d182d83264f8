"""Is model B really better than model A on SentiBench? A paired comparison of two prediction files.

A few points of macro-F1 on a few hundred examples can be noise. For each classification
dataset this reports both models' macro-F1 (mean over seeds), the difference with a paired
bootstrap 95% interval (the same resampled test examples for both models, every seed of an
example kept together), the share of examples on which the two disagree, and what each model
predicts (its most frequent label and that label's share: a student that answers "positive"
to everything shows up here, whatever its F1). Only examples evaluated by both models with the
same seeds are compared.

    python -m sentidistill.sentibench.compare data/sentibench_eval/base-student \\
        data/sentibench_eval/distilled-student [--resamples 2000] [--out reports/compare.md]
"""

from __future__ import annotations

import argparse
import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from schemas.sentibench_predictions import PredictionsSchema
from sentidistill.io import read_parquet, write_text
from sentidistill.sentibench.datasets import get_spec
from sentidistill.sentibench.metrics import macro_f1

PREDICTIONS_FILE = "predictions.parquet"
CONFIDENCE = 0.95


@dataclass(frozen=True)
class PairedResult:
    dataset: str
    n_examples: int
    n_seeds: int
    f1_a: float
    f1_b: float
    diff: float
    ci_low: float
    ci_high: float
    disagreement: float
    majority_a: tuple[str, float]
    majority_b: tuple[str, float]

    @property
    def significant(self) -> bool:
        return self.ci_low > 0 or self.ci_high < 0


def _mean_f1(gold: np.ndarray, pred_a: np.ndarray, pred_b: np.ndarray, idx: np.ndarray) -> tuple[float, float]:
    """Mean over seeds of macro-F1 on the examples ``idx`` (arrays are [example, seed])."""
    fa, fb = [], []
    for s in range(gold.shape[1]):
        g = gold[idx, s].tolist()
        fa.append(macro_f1(g, [p or None for p in pred_a[idx, s].tolist()]))
        fb.append(macro_f1(g, [p or None for p in pred_b[idx, s].tolist()]))
    return statistics.fmean(fa), statistics.fmean(fb)


def _majority(pred: np.ndarray) -> tuple[str, float]:
    counts = Counter(p or "<none>" for p in pred.ravel().tolist())
    label, n = counts.most_common(1)[0]
    return label, n / pred.size


def paired_dataset(a: pl.DataFrame, b: pl.DataFrame, dataset: str, *, resamples: int, seed: int) -> PairedResult:
    """Paired bootstrap over test examples of one dataset (``a``/``b``: predictions rows)."""
    cols = ["example_id", "seed", "gold", "prediction"]
    joined = a.filter(pl.col("dataset") == dataset).select(cols).join(
        b.filter(pl.col("dataset") == dataset).select("example_id", "seed", pl.col("prediction").alias("prediction_b")),
        on=["example_id", "seed"],
        how="inner",
    )
    seeds = sorted(joined["seed"].unique().to_list())
    # keep examples scored under every shared seed, so each row of the matrices is complete
    complete = joined.group_by("example_id").len().filter(pl.col("len") == len(seeds))["example_id"]
    joined = joined.filter(pl.col("example_id").is_in(complete.to_list())).sort("example_id", "seed")
    n = joined.height // max(len(seeds), 1)
    if n == 0:
        raise ValueError(f"{dataset}: the two prediction files share no (example, seed) pair")
    shape = (n, len(seeds))
    gold = joined["gold"].to_numpy().reshape(shape)
    pa = joined["prediction"].fill_null("").to_numpy().reshape(shape)
    pb = joined["prediction_b"].fill_null("").to_numpy().reshape(shape)
    f1_a, f1_b = _mean_f1(gold, pa, pb, np.arange(n))
    rng = np.random.default_rng(seed)
    diffs = np.empty(resamples)
    for r in range(resamples):
        x, y = _mean_f1(gold, pa, pb, rng.integers(0, n, size=n))
        diffs[r] = y - x
    lo, hi = np.quantile(diffs, [(1 - CONFIDENCE) / 2, 1 - (1 - CONFIDENCE) / 2])
    return PairedResult(
        dataset=dataset, n_examples=n, n_seeds=len(seeds), f1_a=f1_a, f1_b=f1_b, diff=f1_b - f1_a,
        ci_low=float(lo), ci_high=float(hi), disagreement=float((pa != pb).mean()),
        majority_a=_majority(pa), majority_b=_majority(pb),
    )  # fmt: skip


def compare(a: pl.DataFrame, b: pl.DataFrame, *, resamples: int = 2000, seed: int = 0) -> list[PairedResult]:
    """Every classification dataset that both prediction tables hold."""
    shared = [d for d in a["dataset"].unique(maintain_order=True).to_list() if d in set(b["dataset"].to_list())]
    return [
        paired_dataset(a, b, d, resamples=resamples, seed=seed) for d in shared if get_spec(d).is_classification
    ]


def markdown(results: Sequence[PairedResult], name_a: str, name_b: str) -> str:
    pct = lambda v: f"{100 * v:.2f}"  # noqa: E731
    lines = [
        f"# {name_b} vs {name_a}: paired comparison\n",
        f"Macro-F1 (%), mean over seeds; Δ = {name_b} − {name_a} with a paired bootstrap "
        f"{int(CONFIDENCE * 100)}% interval over test examples (* = the interval excludes 0). "
        "Majority = the most frequent predicted label and its share.\n",
        f"| dataset | examples × seeds | {name_a} | {name_b} | Δ | {int(CONFIDENCE * 100)}% CI | disagree | "
        f"majority {name_a} | majority {name_b} |",
        "|---|--:|--:|--:|--:|---|--:|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r.dataset} | {r.n_examples} × {r.n_seeds} | {pct(r.f1_a)} | {pct(r.f1_b)} | "
            f"{'+' if r.diff >= 0 else ''}{pct(r.diff)}{' *' if r.significant else ''} | "
            f"[{pct(r.ci_low)}, {pct(r.ci_high)}] | {pct(r.disagreement)}% | "
            f"{r.majority_a[0]} {pct(r.majority_a[1])}% | {r.majority_b[0]} {pct(r.majority_b[1])}% |"
        )
    if results:
        mean_a = statistics.fmean(r.f1_a for r in results)
        mean_b = statistics.fmean(r.f1_b for r in results)
        lines.append(f"| **mean** | | {pct(mean_a)} | {pct(mean_b)} | {'+' if mean_b >= mean_a else ''}{pct(mean_b - mean_a)} | | | | |")
    return "\n".join(lines) + "\n"


def _load(path: Path) -> pl.DataFrame:
    file = path / PREDICTIONS_FILE if path.is_dir() else path
    if not file.is_file():
        raise FileNotFoundError(f"{file} not found: run `dvc repro sentibench_eval@<entry>` (or `dvc checkout`) first")
    return read_parquet(file, PredictionsSchema)


def main(argv: Sequence[str] | None = None) -> str:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("a", type=Path, help="predictions (folder or parquet) of the reference model, e.g. the base student")
    ap.add_argument("b", type=Path, help="predictions of the model compared with it")
    ap.add_argument("--resamples", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=None, help="also write the markdown here")
    args = ap.parse_args(argv)
    a, b = _load(args.a), _load(args.b)
    name_a, name_b = a["model"][0], b["model"][0]
    md = markdown(compare(a, b, resamples=args.resamples, seed=args.seed), name_a, name_b)
    print(md)
    if args.out:
        write_text(args.out, md)
    return md


if __name__ == "__main__":
    main()
