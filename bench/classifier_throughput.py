"""Classifier-student throughput: the encoder student vs the distilled LLM student's label
scoring on the same SST2 test sentences, in one run; plus the teacher's labeling throughput.

(a) encoder student (``models/classifier-student``): ``AutoModelForSequenceClassification``,
    length-sorted batches of ``--batch-size`` (and batch 1 on a subset: single-request latency),
    truncation at the tokenizer's model_max_length;
(b) distilled LLM student (``models/student-icldist``; the base student
    ``smollm2-135m-instruct`` if it is not trained yet -- recorded under ``llm.model``):
    the SentiBench scorer exactly as ``sentibench_eval`` runs it -- the SST2 in-context prompt
    (``sentibench.eval`` shots, demonstrations of seed 0) scored by next-token logits over the
    labels' first tokens, the engine of ``sentibench.models.sentidistill-student``; stops after
    ``--llm-max-seconds`` and reports how many sentences it scored;
(c) teacher labeling (the ``classifier_labels`` prompt, chat template and sampling, the
    ``teacher.engine``): ``--teacher-n`` fresh generations (no cache) + soft-label scoring
    when ``classifier.labels.soft_labels``; and the stage's own figure from
    ``metrics/classifier_labels.json`` when it generated anything.

Prints texts/s side by side and writes ``bench/results/<--result-name>.json`` (ratio =
encoder texts/s / LLM texts/s). Model loading is timed separately, never in the rates.

    python -m bench.classifier_throughput [--n 1000] [--llm-max-seconds 600] [--teacher-n 16]
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from bench._common import write_result
from sentidistill import paths
from sentidistill.schemas.sentibench_datasets import get_spec
from sentidistill.sentibench.evaluate import (
    EvalModel,
    EvalParams,
    choose_scoring,
    score_classification,
    stratified_subsample,
)
from sentidistill.sentibench.metrics import classification_scores
from sentidistill.sentibench.prompts import build_prompt, demos_for


def sst2_sentences(n: int, seed: int = 0) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(n label-stratified SST2 test rows, the dev split the demonstrations come from)."""
    df = pl.read_parquet(paths.SENTIBENCH_DATA / "sst2.parquet")
    test = stratified_subsample(df.filter(pl.col("split") == "test"), n, seed, "label")
    return test, df.filter(pl.col("split") == "dev")


def _f1(gold: list[str], pred: list[str]) -> float:
    return round(100 * classification_scores(gold, pred).macro_f1, 2)


def bench_encoder(
    path: Path, base: Path, texts: list[str], gold: list[str], batch_size: int, latency_n: int
) -> dict[str, Any]:
    from sentidistill.classifier.evaluate import map_probs
    from sentidistill.classifier.predict import EncoderClassifier
    from sentidistill.params import load_params

    t0 = time.perf_counter()
    if (path / "config.json").is_file():
        clf, which = EncoderClassifier.load(path), str(path)
    else:  # same architecture, same speed: the untrained base encoder
        cls = load_params()["classifier"]
        clf = EncoderClassifier.untrained(
            base, cls["labels"]["labels"], seed=0, max_length=cls["train"]["inference_max_length"]
        )
        which = f"{base} (untrained: {path} missing)"
    load_s = time.perf_counter() - t0
    clf.predict_proba(texts[:16], batch_size=batch_size, desc=None)  # warm-up
    t0 = time.perf_counter()
    probs = clf.predict_proba(texts, batch_size=batch_size, desc="encoder")
    secs = time.perf_counter() - t0
    mapping = load_params()["classifier"]["eval"]["datasets"]["sst2"]
    preds, _ = map_probs(probs, clf.labels, mapping, get_spec("sst2").labels)
    sub = texts[:latency_n]
    t0 = time.perf_counter()
    for t in sub:
        clf.predict_proba([t], batch_size=1, desc=None)
    one = time.perf_counter() - t0
    n_tok = sum(len(ids) for ids in clf.tokenizer(texts, truncation=True, max_length=clf.max_length)["input_ids"])
    return {
        "model": which,
        "n": len(texts),
        "texts_per_s": round(len(texts) / secs, 2),
        "seconds": round(secs, 3),
        "batch_size": batch_size,
        "batch1_texts_per_s": round(len(sub) / one, 2) if sub else None,
        "batch1_ms_per_text": round(1000 * one / len(sub), 2) if sub else None,
        "batch1_n": len(sub),
        "load_seconds": round(load_s, 2),
        "tokens": n_tok,
        "max_length": clf.max_length,
        "n_params": sum(p.numel() for p in clf.model.parameters()),
        "sst2_macro_f1": _f1(gold, preds),
    }


def bench_llm(
    model: str, engine_cfg: Any, test: pl.DataFrame, dev: pl.DataFrame, shots: int, max_seconds: float, chunk: int = 32
) -> dict[str, Any]:
    from sentidistill.engines import load_engine

    spec = get_spec("sst2")
    rows = test.to_dicts()
    prompts = [build_prompt(spec, demos_for("sst2", 0, r["example_id"], dev, shots), r) for r in rows]
    ins = [spec.render_instruction()] * len(prompts)
    t0 = time.perf_counter()
    engine = load_engine(model, engine_cfg)
    load_s = time.perf_counter() - t0
    try:
        mode, first = choose_scoring(engine, spec.labels, "auto")
        score_classification(engine, spec, prompts[:4], ins[:4], mode, first)  # warm-up
        preds: list[str] = []
        t0 = time.perf_counter()
        for start in range(0, len(prompts), chunk):
            sc = score_classification(
                engine, spec, prompts[start : start + chunk], ins[start : start + chunk], mode, first
            )
            preds += [spec.labels[int(np.argmax(s))] for s in sc]
            if time.perf_counter() - t0 > max_seconds:
                break
        secs = time.perf_counter() - t0
        n_tok = sum(len(engine.tokenize(p)) for p in prompts[: len(preds)])
        identity = engine.identity()
    finally:
        engine.close()
    n = len(preds)
    return {
        "model": model,
        "engine": identity,
        "n": n,
        "stopped_early": n < len(prompts),
        "texts_per_s": round(n / secs, 3),
        "seconds": round(secs, 2),
        "load_seconds": round(load_s, 2),
        "shots": shots,
        "scoring": mode,
        "prompt_tokens": n_tok,
        "prompt_tokens_per_text": round(n_tok / max(n, 1), 1),
        "sst2_macro_f1": _f1([r["label"] for r in rows[:n]], preds),
    }


def bench_teacher(texts: list[str], n: int) -> dict[str, Any]:
    from sentidistill.classifier.config import LabelParams
    from sentidistill.classifier.parse import LabelMatcher, parse_answer
    from sentidistill.classifier.soft import score_prefixes, special_token_parsing
    from sentidistill.engines import load_engine
    from sentidistill.params import load_section
    from sentidistill.teacher.config import TeacherParams
    from sentidistill.teacher.resolve import resolve_teacher

    resolved = resolve_teacher(load_section("teacher", TeacherParams))
    teacher = resolved.params
    params = load_section("classifier.labels", LabelParams)
    prompts = resolved.prompts([params.render(t) for t in texts[:n]])
    gen = teacher.sampling_for("classifier_labels").generation_params(parse_special=resolved.parse_special)
    t0 = time.perf_counter()
    engine = load_engine(teacher.model, teacher.engine)
    load_s = time.perf_counter() - t0
    try:
        t0 = time.perf_counter()
        out = engine.generate(prompts, gen)
        gen_s = time.perf_counter() - t0
        matcher = LabelMatcher(params.labels, params.aliases)
        parsed = [parse_answer(g.text, matcher, label_key=params.label_key, reason_key=params.reason_key) for g in out]
        soft_s = None
        if params.soft_labels and teacher.engine.backend != "openai":
            prefixes = [
                p + g.text[: a.label_offset] for p, g, a in zip(prompts, out, parsed) if a.label_offset is not None
            ]
            t0 = time.perf_counter()
            if prefixes:
                with special_token_parsing(engine):
                    score_prefixes(engine, prefixes, params.labels)
            soft_s = time.perf_counter() - t0
    finally:
        engine.close()
    total = gen_s + (soft_s or 0.0)
    return {
        "model": resolved.label,
        "engine": teacher.engine.backend,
        "n_parallel": teacher.engine.n_parallel,
        "n": len(prompts),
        "texts_per_s": round(len(prompts) / total, 3),
        "generation_texts_per_s": round(len(prompts) / gen_s, 3),
        "generation_seconds": round(gen_s, 2),
        "soft_label_seconds": None if soft_s is None else round(soft_s, 2),
        "completion_tokens_per_s": round(sum(g.n_completion_tokens for g in out) / gen_s, 2),
        "prompt_tokens_per_text": round(sum(g.n_prompt_tokens for g in out) / len(out), 1),
        "completion_tokens_per_text": round(sum(g.n_completion_tokens for g in out) / len(out), 1),
        "parse_failed": sum(not a.ok for a in parsed),
        "load_seconds": round(load_s, 2),
        "texts": "the first SST2 sentences of this run (fresh generations, no cache)",
    }


def stage_teacher_figure() -> dict[str, Any] | None:
    p = paths.STATS / "classifier_labels.json"
    if not p.is_file():
        return None
    m = json.loads(p.read_text(encoding="utf-8"))
    thr = m.get("throughput", {})
    if not thr.get("generated_texts"):
        return {"note": "the last classifier_labels run took every answer from the cache"}
    return {
        **thr,
        "soft_label_seconds": m.get("soft_labels", {}).get("seconds"),
        "note": "from the pipeline run (metrics/classifier_labels.json); machine load unknown",
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    from sentidistill.classifier.config import TrainParams
    from sentidistill.classifier.train import resolve_base_model
    from sentidistill.params import load_params, load_section

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=1000, help="SST2 test sentences (label-stratified, seed 0)")
    ap.add_argument("--encoder", type=Path, default=paths.MODELS / "classifier-student")
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--latency-n", type=int, default=200, help="sentences scored one at a time (batch 1)")
    ap.add_argument("--llm", default=None, help="default: student-icldist, or smollm2-135m-instruct when not trained")
    ap.add_argument("--llm-max-seconds", type=float, default=600.0, help="stop the LLM after this long (reports n)")
    ap.add_argument("--teacher-n", type=int, default=16, help="fresh teacher labels to time; 0 = skip")
    ap.add_argument("--result-name", default="classifier_throughput", help="bench/results/<name>.json")
    args = ap.parse_args(argv)

    test, dev = sst2_sentences(args.n)
    texts, gold = test["sentence"].to_list(), test["label"].to_list()
    base = resolve_base_model(load_section("classifier.train", TrainParams).base_model)
    enc = bench_encoder(args.encoder, Path(base), texts, gold, args.batch_size, min(args.latency_n, len(texts)))

    bench_params = load_params()["sentibench"]
    eval_params = EvalParams.model_validate(bench_params["eval"])
    entry = EvalModel.model_validate(bench_params["models"]["sentidistill-student"])
    llm_model = args.llm or (
        "student-icldist" if (paths.MODELS / "student-icldist" / "manifest.json").is_file() else "smollm2-135m-instruct"
    )
    llm = bench_llm(llm_model, entry.engine, test, dev, eval_params.shots_for("sst2"), args.llm_max_seconds)
    if llm_model != "student-icldist":
        llm["note"] = "models/student-icldist not trained yet: the base student (same architecture and speed) stands in"
    teacher = bench_teacher(texts, args.teacher_n) if args.teacher_n else None

    ratio = round(enc["texts_per_s"] / llm["texts_per_s"], 2) if llm["texts_per_s"] else None
    print(
        f"SST2 test, {len(texts)} sentences (LLM: {llm['n']}{', stopped at the time limit' if llm['stopped_early'] else ''})"
    )
    print(
        f"  encoder student {enc['model']:<40s}: {enc['texts_per_s']:9.2f} texts/s (batch {args.batch_size}); "
        f"batch 1: {enc['batch1_texts_per_s']} texts/s; SST2 macro-F1 {enc['sst2_macro_f1']}"
    )
    print(
        f"  LLM student {llm['model']:<44s}: {llm['texts_per_s']:9.3f} texts/s ({llm['shots']}-shot prompts, "
        f"{llm['prompt_tokens_per_text']} tokens each); SST2 macro-F1 {llm['sst2_macro_f1']}"
    )
    print(f"  ratio encoder / LLM: {ratio}x")
    if teacher:
        print(
            f"  teacher labeling ({teacher['model']}, {teacher['engine']}): {teacher['texts_per_s']} texts/s "
            f"over {teacher['n']} texts (generation {teacher['generation_texts_per_s']} texts/s)"
        )
    write_result(
        args.result_name,
        measured={"encoder": enc, "teacher_labeling": teacher},
        baseline={"llm_student": llm},
        ratio=ratio,
        ratio_note="encoder student texts/s / distilled LLM student texts/s (label scoring), same sentences, one run",
        teacher_labeling_from_stage=stage_teacher_figure(),
        n_sentences=len(texts),
        bench_process_nice=os.getpriority(os.PRIO_PROCESS, 0),
        torch_threads=_threads(),
    )
    return {"encoder": enc, "llm": llm, "teacher": teacher, "ratio": ratio}


def _threads() -> int:
    import torch

    return torch.get_num_threads()


if __name__ == "__main__":
    main()
