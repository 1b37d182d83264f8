"""GGUF export: do the exported llama.cpp files answer SentiBench like the transformers model?

The final student (``models/sentidistill-student``, its ``gguf/`` files as ``export_student``
wrote them; exported here into a temp folder when the stage has not run) is evaluated by the
SentiBench scorer (``sentidistill eval``: same prompts, demonstrations and label scoring) on the
same test examples -- the 8 classification datasets, 4 shots, seed 0 -- once on transformers in
fp32 (the reference) and once per GGUF variant on llama.cpp. Per variant: label agreement with
the reference (share of examples with the same predicted label; per dataset too), macro-F1 avg,
examples/s and file size. ``ratio`` = examples/s of the Ollama variant / transformers.

    python -m bench.gguf_export [--n 30] [--n-long 8] [--model models/sentidistill-student]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path
from typing import Any

import polars as pl

from bench._common import write_result
from sentidistill.models.gguf import GGUFParams, export_gguf
from sentidistill.params import load_section
from sentidistill.sentibench import adhoc

CLASSIFICATION = ["imdb", "yelp2", "sst2", "twitter", "irony18", "emotion20", "pstance", "intimacy"]
LONG = ("imdb", "yelp2")  # 4-shot prompts of ~1.5K tokens: ~12 s each on llama.cpp's portable AVX2 build


def gguf_files(model: Path, manifest: dict[str, Any], work: Path) -> tuple[dict[str, Path], dict[str, Any]]:
    """The model's exported GGUF files (variant -> path), exporting them into ``work`` if absent."""
    if (entry := manifest.get("gguf_export")) and all(
        (model / "gguf" / f["path"]).is_file() for f in entry["files"].values()
    ):
        return {v: model / "gguf" / f["path"] for v, f in entry["files"].items()}, entry
    params = load_section("export.gguf", GGUFParams)
    hf = model / manifest.get("hf_dir", ".")
    entry = export_gguf(hf, work, model.name, params, chat_template=bool(manifest.get("chat_template")))
    return {v: work / f["path"] for v, f in entry["files"].items()}, entry


def evaluate(
    model: str, name: str, out: Path, n: int, n_long: int, engine: str
) -> tuple[pl.DataFrame, dict[str, Any], float]:
    """Both dataset groups through ``sentidistill eval`` (the short ones with ``n``, the long
    reviews with ``n_long`` examples); predictions concatenated, seconds summed."""
    frames, summaries = [], []
    for group, k in ((LONG, n_long), (tuple(d for d in CLASSIFICATION if d not in LONG), n)):
        run = f"{name}-{'long' if group == LONG else 'short'}"
        summaries.append(
            adhoc.main(
                [
                    "--model",
                    model,
                    "--name",
                    run,
                    "--out",
                    str(out),
                    "--datasets",
                    *group,
                    "--n",
                    str(k),
                    "--shots",
                    "4",
                    "--seeds",
                    "0",
                    "--engine",
                    engine,
                ]
            )
        )
        frames.append(pl.read_parquet(out / run / "predictions.parquet"))
    seconds = sum(s["eval_seconds"] for s in summaries)  # scoring only: model loading is not in the rates
    n_ds = sum(s["n_datasets"] for s in summaries)
    avg = sum(s["avg"] * s["n_datasets"] for s in summaries) / n_ds
    return pl.concat(frames), {"avg": avg, "eval_seconds": seconds}, seconds


def main() -> None:
    ap = argparse.ArgumentParser(prog="python -m bench.gguf_export", description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", type=Path, default=Path("models/sentidistill-student"), help="exported model folder")
    ap.add_argument("--n", type=int, default=30, help="test examples per dataset")
    ap.add_argument("--n-long", type=int, default=8, help=f"test examples of {', '.join(LONG)}")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        manifest = json.loads((args.model / "manifest.json").read_text(encoding="utf-8"))
        files, entry = gguf_files(args.model, manifest, work / "gguf")
        hf = args.model / manifest.get("hf_dir", ".")
        ref, ref_summary, ref_s = evaluate(
            str(hf), "transformers-fp32", work / "runs", args.n, args.n_long, "transformers"
        )
        key = ["dataset", "seed", "example_id"]
        variants: dict[str, Any] = {}
        for variant, path in files.items():
            preds, summary, seconds = evaluate(
                str(path), f"gguf-{variant}", work / "runs", args.n, args.n_long, "llamacpp"
            )
            both = ref.select(*key, pl.col("prediction").alias("ref")).join(preds.select(*key, "prediction"), on=key)
            same = both.with_columns(agree=pl.col("ref") == pl.col("prediction"))
            per = same.group_by("dataset").agg(pl.col("agree").mean().round(4), pl.len().alias("n")).sort("dataset")
            variants[variant] = {
                "file": path.name,
                "bytes": path.stat().st_size,
                "n_examples": same.height,
                "label_agreement": round(float(same["agree"].mean()), 4),
                "agreement_per_dataset": {r["dataset"]: {"agreement": r["agree"], "n": r["n"]} for r in per.to_dicts()},
                "avg_f1": round(summary["avg"], 2),
                "seconds": round(seconds, 1),
                "examples_per_s": round(same.height / seconds, 3),
            }
            print(
                f"{variant}: agreement {variants[variant]['label_agreement']:.2%} (n={same.height}), "
                f"avg F1 {summary['avg']:.2f}, {variants[variant]['examples_per_s']} ex/s"
            )
    ollama = entry["ollama_variant"]
    reference = {
        "engine": "transformers",
        "precision": "float32",
        "n_examples": ref.height,
        "avg_f1": round(ref_summary["avg"], 2),
        "seconds": round(ref_s, 1),
        "examples_per_s": round(ref.height / ref_s, 3),
    }
    write_result(
        "gguf_export",
        measured={"variants": variants, "ollama_variant": ollama},
        baseline=reference,
        ratio=round(variants[ollama]["examples_per_s"] / reference["examples_per_s"], 3),
        protocol={
            "datasets": CLASSIFICATION,
            "n_per_dataset": args.n,
            "n_long": {d: args.n_long for d in LONG},
            "shots": 4,
            "seeds": [0],
            "avg_f1": "mean macro-F1 over the 8 datasets",
            "model": str(args.model),
            "llama_cpp_python": entry["llama_cpp_python"],
        },
        goal={"q8_0_label_agreement_min": 0.95},
    )


if __name__ == "__main__":
    main()
