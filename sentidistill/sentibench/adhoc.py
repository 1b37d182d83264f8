"""``sentidistill eval``: SentiBench for any model, outside the DVC graph.

    sentidistill eval --model HuggingFaceTB/SmolLM2-135M-Instruct      # a hub id (needs a hub)
    sentidistill eval --model models/student-icldist --datasets sst2 imdb --n 50
    sentidistill eval --model path/to/model.gguf --shots 0 --seeds 0 1 2

The same code as ``dvc repro sentibench_eval@<entry>`` (the stage's ``run``), with
``sentibench.eval`` from params.yaml as the starting point and the options on top, so the
predictions and metrics files have the stage's format and can be compared with the
pipeline's own (``sentidistill compare``). It writes ``<out>/<name>/predictions.parquet`` and
``<out>/<name>/metrics.json``; nothing inside the DVC graph changes. Before the pipeline has
ingested SentiBench (``data/sentibench/``), the raw benchmark (``data/raw/sentibench``, from
``dvc pull``) is ingested into ``<out>/.sentibench/`` with the same code and parameters.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sentidistill.engines import EngineConfig
from sentidistill.params import ParamsError, load_params, parse_section
from sentidistill.sentibench.evaluate import EvalModel, EvalParams

DEFAULT_OUT = Path("sentibench-runs")


def engine_for(model: str, backend: str | None, threads: int | None) -> EngineConfig:
    """A ``.gguf`` file runs on llama.cpp, anything else (folder, hub id) on transformers in
    fp32 (the precision the pipeline evaluates in, so numbers do not depend on the CPU kind)."""
    chosen = backend or ("llamacpp" if model.endswith(".gguf") else "transformers")
    return EngineConfig(backend=chosen, dtype="float32", threads=threads)


def name_for(model: str) -> str:
    """A folder name for a model reference: its last path part, safe characters only."""
    stem = Path(model.rstrip("/")).name.removesuffix(".gguf") or "model"
    return re.sub(r"[^A-Za-z0-9._-]+", "-", stem)


def eval_params(args: argparse.Namespace) -> EvalParams:
    # the command's options override params.yaml's values before validation (cross-field checks see both)
    data: dict[str, Any] = dict(load_params()["sentibench"].get("eval") or {})
    if args.datasets:
        data["datasets"] = args.datasets
    if args.n is not None:
        data["max_test_examples"] = args.n
        data["max_test_examples_per_dataset"] = {}
    if args.shots is not None:
        data["shots"] = args.shots
        data["shots_per_dataset"] = {}
    if args.seeds:
        data["seeds"] = args.seeds
    if args.partition:
        data["test_partition"] = args.partition
    return parse_section("sentibench.eval (with the command's options)", data, EvalParams)


def benchmark_dir(datasets: list[str], out: Path) -> Path:
    """``data/sentibench`` when the pipeline has ingested every dataset asked for, else the raw
    benchmark ingested into ``out/.sentibench`` (the ``sentibench_ingest`` stage's code)."""
    from sentidistill.params import load_section
    from sentidistill.paths import RAW_SENTIBENCH, SENTIBENCH_DATA, require_pulled
    from sentidistill.sentibench.ingest import IngestParams, ingest_all

    if all((SENTIBENCH_DATA / f"{k}.parquet").is_file() for k in datasets):
        return SENTIBENCH_DATA
    local = out / ".sentibench"
    missing = [k for k in datasets if not (local / f"{k}.parquet").is_file()]
    if missing:
        require_pulled(RAW_SENTIBENCH, "SentiBench raw data")
        ingest_all(RAW_SENTIBENCH, local, load_section("sentibench.ingest", IngestParams), keys=missing)
    return local


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(
        prog="python -m sentidistill.sentibench.adhoc",
        description=__doc__.split("\n\n")[0],
        epilog="Starts from sentibench.eval in params.yaml; each option overrides it.",
    )
    ap.add_argument("--model", required=True, help="hub id, local model folder, registry name or .gguf file")
    ap.add_argument("--datasets", nargs="+", default=None, help="dataset keys (default: sentibench.eval.datasets)")
    ap.add_argument("--n", type=int, default=None, help="test examples per dataset (default: as params.yaml)")
    ap.add_argument("--shots", type=int, default=None, help="demonstrations per example (default: as params.yaml)")
    ap.add_argument("--seeds", type=int, nargs="+", default=None, help="demonstration seeds (default: as params.yaml)")
    ap.add_argument(
        "--partition",
        choices=["all", "screening", "confirmation"],
        default=None,
        help="test examples: all, or the screening / confirmation part (default: as params.yaml)",
    )
    ap.add_argument(
        "--engine",
        choices=["transformers", "llamacpp", "vllm"],
        default=None,
        help="backend (default: llamacpp for a .gguf, else transformers, fp32)",
    )
    ap.add_argument("--threads", type=int, default=None, help="CPU threads (default: all cores)")
    ap.add_argument("--name", default=None, help="name of this run's folder and model column (default: from --model)")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"where runs go (default: {DEFAULT_OUT}/)")
    args = ap.parse_args(argv)
    if args.n is not None and args.n < 1:
        ap.error("--n must be >= 1")
    from sentidistill.sentibench.run import evaluate_entry  # the stage's own code path

    params = eval_params(args)
    name = args.name or name_for(args.model)
    model = EvalModel(model=args.model, engine=engine_for(args.model, args.engine, args.threads))
    local = Path(args.model).expanduser()
    if (args.model.startswith(("/", "./", "../", "~")) or args.model.endswith(".gguf")) and not local.exists():
        raise ParamsError(f"--model {args.model}: no such file or folder")
    data_dir = benchmark_dir(params.datasets, args.out)
    summary = evaluate_entry(
        name, params, model, data_dir=data_dir, out_dir=args.out, metrics_dir=args.out / name, checkpoint_dir=None
    )
    metrics = args.out / name / f"{name}.json"
    metrics.replace(args.out / name / "metrics.json")
    print(
        f"{name}: avg {summary['avg']:.2f} over {summary['n_datasets']} datasets; "
        f"{args.out / name}/predictions.parquet, metrics.json"
    )
    return summary


if __name__ == "__main__":
    main()
