"""Is model B really better than model A on SentiBench? A paired comparison of two prediction files.

A few points of macro-F1 on a few hundred examples can be noise. For each classification
dataset this reports both models' macro-F1 (mean over seeds), the difference with a paired
bootstrap 95% interval (the same resampled test examples for both models, every seed of an
example kept together), the share of examples on which the two disagree, and what each model
predicts (its most frequent label and that label's share: a student that answers "positive"
to everything shows up here, whatever its F1). Only examples evaluated by both models with the
same seeds are compared.

    python -m sentidistill.sentibench.compare data/sentibench_eval/base-student \\
        data/sentibench_eval/sentidistill-student [--resamples 2000] [--out reports/compare.md]
"""

from __future__ import annotations

import argparse
import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from pydantic import Field

from sentidistill.headline import write_stats
from sentidistill.io import read_parquet, write_text
from sentidistill.log import get_logger
from sentidistill.params import StrictModel
from sentidistill.schemas.sentibench_datasets import get_spec
from sentidistill.schemas.sentibench_predictions import PredictionsSchema
from sentidistill.sentibench.metrics import macro_f1

log = get_logger(__name__)

PREDICTIONS_FILE = "predictions.parquet"
CONFIDENCE = 0.95


class CompareParams(StrictModel):
    """``sentibench.compare``: the main job's paired comparison (stats/sentibench/comparison.json; its headline in metrics/)."""

    baseline: str = Field(description="entry of sentibench.models compared against (the base student)")
    model: str = Field(description="entry of sentibench.models under test (the distilled student)")
    datasets: list[str] = Field(min_length=1, description="classification datasets whose mean is the headline")
    resamples: int = Field(default=2000, ge=100)
    seed: int = 0
    confidence: float = Field(default=0.95, gt=0, lt=1)
    min_examples: int = Field(default=30, ge=2, description="no interval below this many test examples")


#: Below this many test examples a bootstrap interval is not reported: resampling a handful of
#: examples gives intervals of zero or absurd width that look like evidence.
MIN_EXAMPLES = 30


@dataclass(frozen=True)
class PairedResult:
    dataset: str
    n_examples: int
    n_seeds: int
    f1_a: float
    f1_b: float
    diff: float
    ci_low: float | None
    ci_high: float | None
    disagreement: float
    majority_a: tuple[str, float]
    majority_b: tuple[str, float]
    #: bootstrap replicates of the difference (for the interval of a mean over datasets)
    replicates: np.ndarray | None = field(default=None, repr=False, compare=False)

    @property
    def conclusive(self) -> bool:
        return self.ci_low is not None and self.ci_high is not None

    @property
    def significant(self) -> bool:
        return self.conclusive and (self.ci_low > 0 or self.ci_high < 0)  # type: ignore[operator]


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


def paired_dataset(
    a: pl.DataFrame,
    b: pl.DataFrame,
    dataset: str,
    *,
    resamples: int,
    seed: int,
    confidence: float = CONFIDENCE,
    min_examples: int = MIN_EXAMPLES,
) -> PairedResult:
    """Paired bootstrap over test examples of one dataset (``a``/``b``: predictions rows).
    With fewer than ``min_examples`` examples the interval is None (inconclusive)."""
    cols = ["example_id", "seed", "gold", "prediction"]
    joined = (
        a.filter(pl.col("dataset") == dataset)
        .select(cols)
        .join(
            b.filter(pl.col("dataset") == dataset).select(
                "example_id", "seed", pl.col("prediction").alias("prediction_b")
            ),
            on=["example_id", "seed"],
            how="inner",
        )
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
    lo = hi = None
    diffs = None
    if n >= min_examples:
        rng = np.random.default_rng([seed, *dataset.encode()])  # independent per dataset (stratified)
        diffs = np.empty(resamples)
        for r in range(resamples):
            x, y = _mean_f1(gold, pa, pb, rng.integers(0, n, size=n))
            diffs[r] = y - x
        q = np.quantile(diffs, [(1 - confidence) / 2, 1 - (1 - confidence) / 2])
        lo, hi = float(q[0]), float(q[1])
    return PairedResult(
        dataset=dataset,
        n_examples=n,
        n_seeds=len(seeds),
        f1_a=f1_a,
        f1_b=f1_b,
        diff=f1_b - f1_a,
        ci_low=lo,
        ci_high=hi,
        disagreement=float((pa != pb).mean()),
        majority_a=_majority(pa),
        majority_b=_majority(pb),
        replicates=diffs,
    )


def compare(
    a: pl.DataFrame,
    b: pl.DataFrame,
    *,
    resamples: int = 2000,
    seed: int = 0,
    datasets: Sequence[str] | None = None,
    confidence: float = CONFIDENCE,
    min_examples: int = MIN_EXAMPLES,
) -> list[PairedResult]:
    """Every classification dataset that both prediction tables hold (or ``datasets``, which
    must all be there)."""
    shared = [d for d in a["dataset"].unique(maintain_order=True).to_list() if d in set(b["dataset"].to_list())]
    if datasets is not None:
        missing = [d for d in datasets if d not in shared]
        if missing:
            raise ValueError(f"datasets {missing} are not evaluated for both models: evaluate them or drop them")
        shared = list(datasets)
    return [
        paired_dataset(a, b, d, resamples=resamples, seed=seed, confidence=confidence, min_examples=min_examples)
        for d in shared
        if get_spec(d).is_classification
    ]


def mean_interval(results: Sequence[PairedResult], confidence: float = CONFIDENCE) -> tuple[float | None, float | None]:
    """Interval of the mean difference over datasets: replicate r of the mean is the mean of
    each dataset's replicate r (test examples resampled within each dataset, jointly across
    datasets). None when a dataset has too few examples for an interval."""
    if not results or any(r.replicates is None for r in results):
        return None, None
    reps = np.mean(np.stack([r.replicates for r in results]), axis=0)  # type: ignore[misc]
    q = np.quantile(reps, [(1 - confidence) / 2, 1 - (1 - confidence) / 2])
    return float(q[0]), float(q[1])


def comparison_json(
    results: Sequence[PairedResult],
    *,
    baseline: str,
    model: str,
    shots: dict[str, int],
    resamples: int,
    confidence: float = CONFIDENCE,
    min_examples: int = MIN_EXAMPLES,
) -> dict[str, object]:
    """``stats/sentibench/comparison.json``: F1 in points (%), per dataset and their mean."""
    r2 = lambda v: None if v is None else round(100 * v, 2)  # noqa: E731
    lo, hi = mean_interval(results, confidence)
    datasets = {
        r.dataset: {
            "n_examples": r.n_examples,
            "seeds": r.n_seeds,
            "baseline_f1": r2(r.f1_a),
            "model_f1": r2(r.f1_b),
            "delta": r2(r.diff),
            "ci_low": r2(r.ci_low),
            "ci_high": r2(r.ci_high),
            "baseline_majority": r.majority_a[0],
            "baseline_majority_share": round(r.majority_a[1], 4),
            "model_majority": r.majority_b[0],
            "model_majority_share": round(r.majority_b[1], 4),
            "disagreement": round(r.disagreement, 4),
        }
        for r in results
    }
    mean_delta = statistics.fmean(r.diff for r in results) if results else None
    return {
        "baseline": baseline,
        "model": model,
        "shots": {r.dataset: shots.get(r.dataset) for r in results},
        "datasets": datasets,
        "mean": {
            "n_datasets": len(results),
            "baseline_f1": r2(statistics.fmean(r.f1_a for r in results)) if results else None,
            "model_f1": r2(statistics.fmean(r.f1_b for r in results)) if results else None,
            "delta": r2(mean_delta),
            "ci_low": r2(lo),
            "ci_high": r2(hi),
            "ci_half_width": r2((hi - lo) / 2) if lo is not None and hi is not None else None,
        },
        "resamples": resamples,
        "confidence": confidence,
        "min_examples": min_examples,
        "method": "paired bootstrap over test examples (every seed of an example kept together), resampled "
        "within each dataset; the mean's replicate = mean of the datasets' replicates",
    }


def comparison_markdown(cmp: dict[str, Any], *, title: bool = True) -> str:
    """The comparison JSON as a table: n beside every number, the mean with its interval."""
    a, b, conf = cmp["baseline"], cmp["model"], int(round(100 * cmp["confidence"]))
    f = lambda v: "–" if v is None else f"{v:.2f}"  # noqa: E731
    sd = lambda v: "–" if v is None else f"{v:+.2f}"  # noqa: E731

    def ci(lo: float | None, hi: float | None) -> str:
        return f"[{lo:+.2f}, {hi:+.2f}]" if lo is not None and hi is not None else f"none (n < {cmp['min_examples']})"

    def star(lo: float | None, hi: float | None) -> str:
        return " *" if lo is not None and hi is not None and (lo > 0 or hi < 0) else ""

    lines = [f"# {b} vs {a}: paired comparison\n"] if title else []
    lines += [
        f"Macro-F1 (%), mean over seeds, on the same test examples for both models; Δ = {b} − {a} with a "
        f"paired bootstrap {conf}% interval over test examples ({cmp['resamples']} resamples; * = the interval "
        "excludes 0). The mean's interval resamples the examples of every dataset jointly. Majority = the most "
        f"frequent prediction and its share. Below {cmp['min_examples']} examples no interval is given: "
        "a bootstrap over a handful of examples cannot conclude anything.\n",
        f"| dataset | n × seeds | shots | {a} | {b} | Δ | {conf}% CI | majority {a} | majority {b} |",
        "|---|--:|--:|--:|--:|--:|---|---|---|",
    ]
    for name, d in cmp["datasets"].items():
        lines.append(
            f"| {name} | {d['n_examples']} × {d['seeds']} | {cmp['shots'].get(name) or '–'} | {f(d['baseline_f1'])} | "
            f"{f(d['model_f1'])} | {sd(d['delta'])}{star(d['ci_low'], d['ci_high'])} | {ci(d['ci_low'], d['ci_high'])} | "
            f"{d['baseline_majority']} {100 * d['baseline_majority_share']:.0f}% | "
            f"{d['model_majority']} {100 * d['model_majority_share']:.0f}% |"
        )
    m = cmp["mean"]
    n = sum(d["n_examples"] for d in cmp["datasets"].values())
    lines.append(
        f"| **mean of {m['n_datasets']}** | {n} | | {f(m['baseline_f1'])} | {f(m['model_f1'])} | "
        f"**{sd(m['delta'])}**{star(m['ci_low'], m['ci_high'])} | {ci(m['ci_low'], m['ci_high'])} | | |"
    )
    return "\n".join(lines) + "\n"


def markdown(
    results: Sequence[PairedResult],
    name_a: str,
    name_b: str,
    *,
    min_examples: int = MIN_EXAMPLES,
    shots: dict[str, int] | None = None,
    resamples: int = 0,
) -> str:
    return comparison_markdown(
        comparison_json(
            results, baseline=name_a, model=name_b, shots=shots or {}, resamples=resamples, min_examples=min_examples
        )
    )


def load_predictions(path: Path) -> pl.DataFrame:
    file = path / PREDICTIONS_FILE if path.is_dir() else path
    if not file.is_file():
        raise FileNotFoundError(f"{file} not found: run `dvc repro sentibench_eval@<entry>` (or `dvc checkout`) first")
    return read_parquet(file, PredictionsSchema)


def write_comparison(
    params: CompareParams, shots: dict[str, int], eval_dir: Path, out_json: Path, out_md: Path
) -> dict[str, Any]:
    """Stage ``sentibench_compare``: ``params.model`` vs ``params.baseline`` on the same test
    examples (their predictions under ``eval_dir``), as JSON (``out_json`` via the stats/headline
    split) and markdown; ``shots``: the demonstrations per dataset both were evaluated with."""
    a = load_predictions(eval_dir / params.baseline)
    b = load_predictions(eval_dir / params.model)
    results = compare(
        a,
        b,
        resamples=params.resamples,
        seed=params.seed,
        datasets=params.datasets,
        confidence=params.confidence,
        min_examples=params.min_examples,
    )
    cmp = comparison_json(
        results,
        baseline=params.baseline,
        model=params.model,
        shots=shots,
        resamples=params.resamples,
        confidence=params.confidence,
        min_examples=params.min_examples,
    )
    write_stats(out_json, cmp)
    write_text(out_md, comparison_markdown(cmp))
    m = cmp["mean"]
    log.info(
        "%s vs %s: mean delta %s points, %d%% CI [%s, %s] over %d datasets -> %s",
        params.model,
        params.baseline,
        m["delta"],
        round(100 * params.confidence),
        m["ci_low"],
        m["ci_high"],
        m["n_datasets"],
        out_json,
    )
    return cmp


def main(argv: Sequence[str] | None = None) -> str:
    ap = argparse.ArgumentParser(prog="python -m sentidistill.sentibench.compare", description=__doc__.splitlines()[0])
    ap.add_argument(
        "a", type=Path, help="predictions (folder or parquet) of the reference model, e.g. the base student"
    )
    ap.add_argument("b", type=Path, help="predictions of the model compared with it")
    ap.add_argument("--resamples", type=int, default=2000, help="bootstrap resamples (default: 2000)")
    ap.add_argument("--seed", type=int, default=0, help="seed of the resampling (default: 0)")
    ap.add_argument("--min-examples", type=int, default=MIN_EXAMPLES, help="no interval below this many examples")
    ap.add_argument("--out", type=Path, default=None, help="also write the markdown here")
    args = ap.parse_args(argv)
    a, b = load_predictions(args.a), load_predictions(args.b)
    name_a, name_b = a["model"][0], b["model"][0]
    res = compare(a, b, resamples=args.resamples, seed=args.seed, min_examples=args.min_examples)
    md = markdown(res, name_a, name_b, min_examples=args.min_examples, resamples=args.resamples)
    print(md)
    if args.out:
        write_text(args.out, md)
    return md


if __name__ == "__main__":
    main()
