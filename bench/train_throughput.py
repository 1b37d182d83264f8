"""Training throughput of the default student: our configuration vs TRL's defaults.

Same rows, same number of optimizer steps; each variant runs in its own subprocess so
its peak RSS is its own. Tokens/s counts non-padding tokens of the measured steps (the
first step, with its one-off allocations, is excluded). Rows: the real teacher corpora
when present, else the prompt tables with a synthetic 64-word answer (speed only).

    .venv/bin/python -m bench.train_throughput [--steps 8] [--stage knowdist]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# Extra variants measured for the choice of the CPU default (fp32 vs bf16, batch, length).
# ours_all_positions: ours without the LM head restricted to the completion positions
# (sentidistill.training.trl_patches.score_labelled_positions_only), i.e. TRL's CPU behaviour.
VARIANTS = ("ours", "trl_defaults", "ours_all_positions", "fp32")


def _records(stage: str, n: int) -> list[dict[str, Any]]:
    import polars as pl

    from sentidistill.training.data import CORPUS_PATHS, load_records, to_record

    corpora = ("knowdist",) if stage == "knowdist" else ("icldist",)
    if all(CORPUS_PATHS[c].is_file() for c in corpora):
        recs, _ = load_records(corpora, chat_template=True, max_rows=n, seed=0)
        return recs
    prompts = pl.read_parquet(ROOT / "data" / stage / f"{stage}_prompts.parquet")
    answer = " ".join(["The sentiment of this text is clearly expressed by its wording."] * 6)
    msgs = prompts["user_message"].to_list()
    return [to_record(msgs[i % len(msgs)], answer, chat_template=True) for i in range(n)]


def _config(variant: str, stage: str, out: Path, steps: int) -> Any:
    from trl import SFTConfig

    from sentidistill.training.config import load_training_params
    from sentidistill.training.sft import sft_config

    cfg = load_training_params()
    hp = cfg.stage(stage)  # type: ignore[arg-type]
    if variant == "trl_defaults":
        return SFTConfig(
            output_dir=str(out), use_cpu=True, max_steps=steps, report_to="none", save_strategy="no", logging_steps=1
        )
    upd: dict[str, Any] = {"max_steps": steps}
    if variant == "fp32":
        upd["precision"] = "fp32"
    elif variant == "bf16_batch4":
        upd.update(precision="bf16", per_device_batch_size=4, batch_size=4)
    elif variant == "gradient_checkpointing":
        upd["gradient_checkpointing"] = True
    hp = hp.model_copy(update=upd)
    args = sft_config(hp, out, logging_steps=1, save_steps=10**6, save_total_limit=1, chat_template=True)
    args.save_strategy = "no"
    return args


def run_variant(variant: str, stage: str, steps: int, model_dir: Path) -> dict[str, Any]:
    import tempfile

    import torch
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer, TrainerCallback
    from trl import SFTTrainer

    from sentidistill.training.trl_patches import score_labelled_positions_only

    out = Path(tempfile.mkdtemp(prefix=f"bench-{variant}-"))
    if variant not in ("trl_defaults", "ours_all_positions"):
        score_labelled_positions_only()  # each variant runs in its own subprocess
    args = _config(variant, stage, out, steps)
    n_rows = args.per_device_train_batch_size * args.gradient_accumulation_steps * steps
    tok = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    trainer = SFTTrainer(
        model=model, args=args, train_dataset=Dataset.from_list(_records(stage, n_rows)), processing_class=tok
    )
    marks: list[float] = []
    tokens: list[int] = []

    class Timer(TrainerCallback):
        def on_step_begin(self, a, state, control, **kw):  # noqa: ANN001
            marks.append(time.perf_counter())

        def on_step_end(self, a, state, control, **kw):  # noqa: ANN001
            marks.append(time.perf_counter())

    # count the non-padding tokens each optimizer step sees (same sampler as the trainer)
    orig = trainer.compute_loss

    def counting(model, inputs, *a, **kw):  # noqa: ANN001
        tokens.append(int(inputs["attention_mask"].sum()))
        return orig(model, inputs, *a, **kw)

    trainer.compute_loss = counting  # type: ignore[method-assign]
    trainer.add_callback(Timer())
    trainer.train()
    accum = args.gradient_accumulation_steps
    step_times = [marks[i + 1] - marks[i] for i in range(0, len(marks) - 1, 2)]
    step_tokens = [sum(tokens[i : i + accum]) for i in range(0, len(tokens), accum)]
    meas_t, meas_tok = sum(step_times[1:]), sum(step_tokens[1 : len(step_times)])
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "variant": variant,
        "precision": "bf16" if args.bf16 else ("fp16" if args.fp16 else "fp32"),
        "per_device_batch_size": args.per_device_train_batch_size,
        "gradient_accumulation_steps": accum,
        "gradient_checkpointing": bool(args.gradient_checkpointing),
        "max_length": args.max_length,
        "learning_rate": args.learning_rate,
        "steps_measured": len(step_times) - 1,
        "seconds_per_step": round(meas_t / max(1, len(step_times) - 1), 3),
        "tokens_per_s": round(meas_tok / meas_t, 1) if meas_t else None,
        "tokens_per_step": round(meas_tok / max(1, len(step_times) - 1), 1),
        "peak_rss_mb": round(peak_mb),
        "final_loss": trainer.state.log_history[-2].get("loss") if len(trainer.state.log_history) > 1 else None,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=6)
    ap.add_argument("--stage", default="knowdist", choices=("knowdist", "icldist"))
    ap.add_argument("--variants", nargs="*", default=list(VARIANTS))
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    from sentidistill.models.store import model_paths

    model_dir = model_paths("student").hf_dir
    if args.child:
        print("RESULT " + json.dumps(run_variant(args.child, args.stage, args.steps, model_dir)), flush=True)
        return
    results = {}
    for v in args.variants:
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "bench.train_throughput",
                "--child",
                v,
                "--stage",
                args.stage,
                "--steps",
                str(args.steps),
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        line = [x for x in proc.stdout.splitlines() if x.startswith("RESULT ")]
        if proc.returncode or not line:
            print(proc.stderr[-3000:], file=sys.stderr)
            raise SystemExit(f"variant {v} failed")
        results[v] = json.loads(line[-1][7:])
        print(json.dumps(results[v]), flush=True)
        _write(results, args)  # after every variant: a partial result survives an interruption
    _table(results)


def _table(results: dict[str, Any]) -> None:
    keys = (
        "precision",
        "per_device_batch_size",
        "gradient_checkpointing",
        "seconds_per_step",
        "tokens_per_s",
        "peak_rss_mb",
    )
    print(f"{'variant':24s}" + "".join(f"{k:>24s}" for k in keys))
    for v, r in results.items():
        print(f"{v:24s}" + "".join(f"{str(r[k]):>24s}" for k in keys))


def _write(results: dict[str, Any], args: argparse.Namespace) -> None:
    from bench._common import write_result

    if "ours" not in results:
        return
    ours, base = results["ours"], results.get("trl_defaults")
    write_result(
        "train_throughput",
        measured=ours,
        baseline=base or {},
        ratio=round(ours["tokens_per_s"] / base["tokens_per_s"], 2) if base else None,
        variants=results,
        stage=args.stage,
        steps=args.steps,
        complete=set(results) >= set(args.variants),
        load_average=list(__import__("os").getloadavg()),
    )


if __name__ == "__main__":
    main()
