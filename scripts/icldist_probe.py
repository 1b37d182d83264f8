"""Quick ICLDist experiment: retrain stage 2 from the pipeline's stage-1 model with changed
settings and score it on a few SentiBench datasets -- minutes instead of a full `dvc exp run`.

Nothing in the workspace changes: the variant is trained into <out>/<tag>/ from
models/student-knowdist and data/icldist/icldist_corpus.parquet (optionally re-filtered by the
label-balance policy), then evaluated by the SentiBench stage code on the same stratified test
examples for every model named (seed 0). docs/results/large-eval.md has the session-3 table.

    python scripts/icldist_probe.py train --tag lr2e5 --set learning_rate=2e-5
    python scripts/icldist_probe.py train --tag balanced --max-label-share 0.5
    python scripts/icldist_probe.py train --tag raw --raw
    python scripts/icldist_probe.py eval --n 100 --datasets sst2,yelp2,twitter \\
        models/smollm2-135m-instruct/hf /tmp/icldist-probe/lr2e5/models/student-icldist/hf
    # keep the predictions and compare two models with paired bootstrap intervals:
    python scripts/icldist_probe.py eval --keep /tmp/probe MODEL_A/hf MODEL_B/hf
    python -m sentidistill.sentibench.compare /tmp/probe/o/A /tmp/probe/o/B
"""

from __future__ import annotations

import argparse
import copy
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def train(args: argparse.Namespace) -> None:
    import polars as pl

    from sentidistill.icldist.task import icldist_policy
    from sentidistill.params import load_params
    from sentidistill.training.config import load_training_params
    from sentidistill.training.run import run_stage

    data = copy.deepcopy(load_params()["training"])
    for kv in args.set:
        key, value = kv.split("=", 1)
        old = data["icldist"][key]
        data["icldist"][key] = type(old)(value) if old is not None else value
    if args.raw:
        data["chat_template"] = False
    if args.demo_label_loss is not None:
        data["demo_label_loss"] = args.demo_label_loss == "true"
    cfg = load_training_params({"training": data})
    root = Path(args.out) / args.tag
    models = root / "models"
    models.mkdir(parents=True, exist_ok=True)
    for name in ("student-knowdist", "smollm2-135m-instruct"):
        if not (models / name).exists():
            shutil.copytree(ROOT / "models" / name, models / name)
    corpus = pl.read_parquet(args.corpus or ROOT / "data" / "icldist" / "icldist_corpus.parquet")
    if args.max_label_share is not None:
        cols = corpus.columns
        exclude = load_params()["icldist"]["policy"]["exclude"]
        corpus, st = icldist_policy(corpus.drop("keep", "exclude_reason"), exclude, args.max_label_share)
        corpus = corpus.select(cols)
        print("policy", st, flush=True)
    corpus.write_parquet(root / "icldist_corpus.parquet")
    m = run_stage(
        "icldist",
        cfg,
        models_dir=models,
        corpus_paths={"icldist": root / "icldist_corpus.parquet"},
        cache_dir=root / "cache",
        plots_dir=root / "plots",
        metrics_dir=root / "metrics",
    )
    print(
        f"trained {args.tag}: {m.get('train_seconds')} s, last loss {m.get('last_loss')} -> "
        f"{models / 'student-icldist' / 'hf'}",
        flush=True,
    )


def evaluate(args: argparse.Namespace) -> None:
    import polars as pl

    from sentidistill.engines import EngineConfig
    from sentidistill.params import load_section
    from sentidistill.sentibench.evaluate import EvalModel, EvalParams
    from sentidistill.sentibench.run import evaluate_entry

    datasets = args.datasets.split(",")
    # the main job's protocol (params.yaml sentibench.eval: 4 demonstrations everywhere, its test
    # partition and example counts, seed 0); --n overrides the count of every dataset
    params = load_section("sentibench.eval", EvalParams).model_copy(update={"datasets": datasets, "seeds": [0]})
    if args.n is not None:
        params = params.model_copy(update={"max_test_examples": args.n, "max_test_examples_per_dataset": {}})
    for m in args.models:
        name = Path(m).parent.name if Path(m).name == "hf" else Path(m).name
        with tempfile.TemporaryDirectory() as tmp:
            t = Path(args.keep) if args.keep else Path(tmp)
            s = evaluate_entry(
                name,
                params,
                EvalModel(model=m, engine=EngineConfig(backend="transformers", dtype="float32")),
                data_dir=ROOT / "data" / "sentibench",
                out_dir=t / "o",
                metrics_dir=t / "m",
                checkpoint_dir=t / "c",
            )
            p = pl.read_parquet(t / "o" / name / "predictions.parquet")
            for d in datasets:
                q = p.filter(pl.col("dataset") == d)
                top, count = q["prediction"].value_counts(sort=True).row(0)
                print(
                    f"{m}\t{d}\tmacro-F1 {s['datasets'][d]['f1']:.2f}\tmost frequent {top} {count}/{q.height}",
                    flush=True,
                )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("train")
    t.add_argument("--tag", required=True)
    t.add_argument("--out", default=str(Path(tempfile.gettempdir()) / "icldist-probe"))
    t.add_argument("--set", nargs="*", default=[], help="training.icldist overrides, key=value")
    t.add_argument("--max-label-share", type=float, default=None)
    t.add_argument("--raw", action="store_true", help="training.chat_template: false")
    t.add_argument("--demo-label-loss", choices=["true", "false"], default=None, help="training.demo_label_loss")
    t.add_argument("--corpus", default=None, help="an ICLDist corpus parquet (default: the pipeline's)")
    e = sub.add_parser("eval")
    e.add_argument("--n", type=int, default=None, help="test examples per dataset (default: params.yaml's)")
    e.add_argument("--datasets", default="sst2,yelp2,twitter")
    e.add_argument("--keep", default=None, help="write predictions under DIR/o/<model> (for sentibench.compare)")
    e.add_argument("models", nargs="+")
    args = ap.parse_args()
    train(args) if args.cmd == "train" else evaluate(args)


if __name__ == "__main__":
    main()
