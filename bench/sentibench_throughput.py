"""SentiBench classification throughput: the authors' scorer vs ours, same model, same prompts.

(a) authors' method (HITSZ-HLT/Sentiment-Distillation ``icl_multifaced.py``): HF
    ``generate(max_new_tokens=2, output_scores=True)`` on batches of 4 prompts in dataset
    order, left-padded to the longest, label = argmax of the first step's scores over the
    labels' first tokens;
(b) this project's scorer (``TransformersEngine.next_token_logits`` as the eval stage calls
    it): shared instruction KV cache, length-sorted right-padded batches under a token
    budget, LM head only at the last token.

Both load the same HF folder in the same dtype and score identical prompts (the eval
stage's prompts, seed 0). Prints examples/s of both, the ratio, and prediction agreement;
writes bench/results/sentibench_throughput.json.

    python -m bench.sentibench_throughput [--model smollm2-135m-instruct] [--per-dataset 12] [--dtype float32]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import polars as pl

from bench._common import write_result
from sentidistill import paths
from sentidistill.engines import EngineConfig, load_engine
from sentidistill.schemas.sentibench_datasets import DATASETS, get_spec
from sentidistill.sentibench.evaluate import EvalParams, choose_scoring, score_classification, select_tests
from sentidistill.sentibench.prompts import build_prompt, demos_for


def build_prompts(per_dataset: int, seed: int) -> list[tuple[str, str, str, list[str]]]:
    """(dataset, prompt, instruction, labels) for the classification datasets."""
    keys = [k for k, s in DATASETS.items() if s.is_classification]
    data = {k: pl.read_parquet(paths.SENTIBENCH_DATA / f"{k}.parquet") for k in keys}
    params = EvalParams(datasets=keys, max_test_examples=per_dataset, seeds=[seed])
    out = []
    for key, (test, pool) in select_tests(data, params).items():
        spec = get_spec(key)
        for r in test.to_dicts():
            demos = demos_for(key, seed, r["example_id"], pool, params.shots_for(key))
            ins = spec.render_instruction(r.get("target") if spec.has_target else None)
            out.append((key, build_prompt(spec, demos, r), ins, list(spec.labels)))
    return out


def authors_scorer(engine, items, batch_size: int = 4) -> list[int]:
    """The authors' loop, on the engine's own model and tokenizer."""
    import torch

    tok = engine.tokenizer
    tok.padding_side = "left"
    model = engine.model
    preds: list[int] = []
    by_ds: dict[str, list[int]] = {}
    for i, (ds, *_rest) in enumerate(items):
        by_ds.setdefault(ds, []).append(i)
    order = [i for idx in by_ds.values() for i in idx]
    result = {}
    for ds, idx in by_ds.items():
        labels = items[idx[0]][3]
        first = [tok(" " + lab, add_special_tokens=False)["input_ids"][0] for lab in labels]
        for s in range(0, len(idx), batch_size):
            b = idx[s : s + batch_size]
            enc = tok([items[i][1] for i in b], padding=True, return_tensors="pt")
            with torch.inference_mode():
                out = model.generate(
                    enc["input_ids"],
                    attention_mask=enc["attention_mask"],
                    max_new_tokens=2,
                    do_sample=False,
                    output_scores=True,
                    return_dict_in_generate=True,
                    pad_token_id=tok.pad_token_id,
                )
            scores = out.scores[0][:, first]
            for i, p in zip(b, scores.argmax(-1).tolist()):
                result[i] = p
    preds = [result[i] for i in range(len(items))]
    assert sorted(order) == list(range(len(items)))
    return preds


def our_scorer(engine, items) -> list[int]:
    by_ds: dict[str, list[int]] = {}
    for i, (ds, *_rest) in enumerate(items):
        by_ds.setdefault(ds, []).append(i)
    preds: dict[int, int] = {}
    for ds, idx in by_ds.items():
        spec = get_spec(ds)
        mode, first = choose_scoring(engine, spec.labels, "first_token")
        scores = score_classification(engine, spec, [items[i][1] for i in idx], [items[i][2] for i in idx], mode, first)
        for i, s in zip(idx, scores):
            preds[i] = int(np.argmax(s))
    return [preds[i] for i in range(len(items))]


def _timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="smollm2-135m-instruct")
    ap.add_argument("--per-dataset", type=int, default=12)
    ap.add_argument("--long-per-dataset", type=int, default=3, help="IMDb/Yelp2 examples (~1.5K-token prompts)")
    ap.add_argument("--dtype", default="float32", choices=["float32", "bfloat16"], help="dtype of the baseline")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    items = [it for it in build_prompts(args.per_dataset, args.seed) if it[0] not in LONG]
    items += [it for it in build_prompts(args.long_per_dataset, args.seed) if it[0] in LONG]
    hf = load_engine(args.model, EngineConfig(backend="transformers", dtype=args.dtype))
    candidates = {
        f"transformers-{args.dtype}": hf,
        "transformers-bfloat16": load_engine(args.model, EngineConfig(backend="transformers", dtype="bfloat16"))
        if args.dtype != "bfloat16"
        else None,
        "llamacpp": _maybe_llamacpp(args.model),
    }
    candidates = {k: v for k, v in candidates.items() if v is not None}
    n_tokens = sum(len(hf.tokenize(p)) for _, p, _, _ in items)
    warm = items[:4]
    authors_scorer(hf, warm)
    for eng in candidates.values():
        our_scorer(eng, warm)

    base, t_base = _timed(lambda: authors_scorer(hf, items))
    n = len(items)
    rows = {}
    for name, eng in candidates.items():
        preds, t = _timed(lambda: our_scorer(eng, items))
        agree = sum(a == b for a, b in zip(preds, base)) / n
        rows[name] = {
            "examples_per_s": round(n / t, 3),
            "seconds": round(t, 2),
            "ratio": round(t_base / t, 3),
            "agreement": round(agree, 4),
        }
    print(f"model {args.model}, {n} prompts ({n_tokens} prompt tokens), baseline dtype {args.dtype}")
    print(f"  authors' generate(max_new_tokens=2), batch 4 : {n / t_base:7.2f} ex/s  ({t_base:.1f} s)")
    for name, r in rows.items():
        print(
            f"  sentidistill scorer [{name:22s}] : {r['examples_per_s']:7.2f} ex/s  speed-up {r['ratio']:.2f}x  identical {r['agreement']:.2%}"
        )
    meets = {k: r["ratio"] >= 3.0 and r["agreement"] >= 0.99 for k, r in rows.items()}
    exact = f"transformers-{args.dtype}"
    write_result(
        "sentibench_throughput",
        measured=rows,
        baseline={
            "examples_per_s": round(n / t_base, 3),
            "seconds": round(t_base, 2),
            "dtype": args.dtype,
            "method": "HF generate(max_new_tokens=2, output_scores=True), batch 4, left padding to the longest, first-step scores",
        },
        ratio=rows[exact]["ratio"],
        ratio_note=f"'ratio' is the exact ({exact}) scorer; every candidate's ratio is under measured",
        agreement=rows[exact]["agreement"],
        goal={"ratio_min": 3.0, "agreement_min": 0.99},
        goal_met=meets,
        model=args.model,
        n_examples=n,
        n_prompt_tokens=n_tokens,
        datasets=sorted({d for d, *_ in items}),
    )
    for eng in candidates.values():
        eng.close()


LONG = ("imdb", "yelp2")


def _maybe_llamacpp(model: str):
    try:
        return load_engine(model, EngineConfig(backend="llamacpp", threads=None))
    except (ImportError, ValueError) as exc:
        print(f"llama.cpp candidate skipped: {exc}")
        return None


if __name__ == "__main__":
    main()
