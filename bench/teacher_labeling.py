"""Teacher labels per second: the seed notebook's way vs the pipeline's (issue #11, item 8).

(a) baseline, the notebook's way: an OpenAI-compatible server (``llama_cpp.server``) asked
    one request at a time with the chain-of-thought JSON prompt (``classifier.labels.prompt``:
    a one-sentence reason, then the label), the answer parsed by the classifier's JSON parser;
(b) the pipeline's way (``icldist.demo_labels.method: score``): the teacher's next-token
    scores over the label words after the zero-shot BASIC instruction in its chat template
    (sentidistill.teacher.scoring.score_candidates), llama.cpp in-process, consecutive
    prompts sharing the instruction prefix in the KV cache. No decoding.

Two more rows show what the agreement gap costs to close: (b) with contextual calibration
(the label prior of content-free inputs divided out, three more prompts), and cascades of
either with (a): a text whose top label probability is below a threshold takes its
chain-of-thought answer, at the request time (a) measured for it.

Both label the same corpus texts (the classifier's teacher-labeled sample, ≤ 500 characters);
the bench prints labels/s of each, the ratio, and the share of texts on which the two
labels agree, and writes bench/results/teacher_labeling.json. Goal: ratio ≥ 4 at ≥ 95 %
agreement. Run on a quiet machine (it times both).

    python -m bench.teacher_labeling [--n 48] [--threads 2]
"""

from __future__ import annotations

import argparse
import math
import time
from collections import Counter
from pathlib import Path

import polars as pl

from bench._common import write_result
from bench.teacher_throughput import timed_server_generations
from sentidistill.classifier.config import LabelParams
from sentidistill.classifier.parse import LabelMatcher, parse_answer
from sentidistill.engines import EngineConfig, load_engine
from sentidistill.engines.base import GenerationParams
from sentidistill.icldist.formats import SENTIMENT_CANONICAL
from sentidistill.icldist.prompts import build_prompt, instruction_for
from sentidistill.models.store import model_paths
from sentidistill.params import load_params, load_section
from sentidistill.paths import DATA
from sentidistill.precision import cpu_flags
from sentidistill.teacher.scoring import score_candidates
from sentidistill.teacher.template import ChatTemplater

GOAL_RATIO = 4.0
GOAL_AGREEMENT = 0.95
CONTENT_FREE = ("N/A", "", "[MASK]")
THRESHOLDS = (0.0, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 1.01)


def agreement_with(cot: list[str | None], labels: list[str]) -> float:
    """Share of the texts whose CoT answer parsed on which ``labels`` give the same label."""
    parsed = [i for i, lab in enumerate(cot) if lab is not None]
    return sum(cot[i] == labels[i] for i in parsed) / max(len(parsed), 1)


def cascade_curve(
    scores: list[list[float]], labels: list[str], cot: list[str | None], cot_seconds: list[float], base_seconds: float
) -> list[dict]:
    """Agreement with the chain-of-thought labels and speed-up over them when every text whose
    top label probability (softmax of ``scores``) is below a threshold falls back to its CoT answer."""
    top = [max(math.exp(x) for x in s) / sum(math.exp(x) for x in s) for s in scores]
    out = []
    for t in THRESHOLDS:
        back = {i for i in range(len(scores)) if top[i] < t}
        final = [cot[i] if i in back else labels[i] for i in range(len(scores))]
        seconds = base_seconds + sum(cot_seconds[i] for i in back)
        out.append(
            {
                "threshold": t,
                "fallback_share": round(len(back) / len(scores), 4),
                "agreement": round(agreement_with(cot, final), 4),
                "ratio": round(sum(cot_seconds) / seconds, 3),
            }
        )
    return out


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=48, help="texts labeled by both")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--texts", type=Path, default=DATA / "classifier" / "teacher_labels.parquet")
    args = ap.parse_args(argv)

    params = load_params()
    teacher = model_paths(params["models"]["teacher"])
    lp = load_section("classifier.labels", LabelParams).model_copy(update={"method": "cot_json"})  # (a) asks for JSON
    texts = pl.read_parquet(args.texts).sort("text_id")["text"].head(args.n).to_list()
    templater = ChatTemplater(teacher.hf_dir)
    gen = GenerationParams(
        max_new_tokens=params["teacher"]["sampling"]["classifier_labels"]["max_new_tokens"],
        temperature=0.0,
        parse_special=True,
    )

    # (a) the notebook's way
    a_prompts = [templater(lp.render(t)) for t in texts]
    a_gens, a_times = timed_server_generations(teacher.gguf_path, a_prompts, gen, args.threads, 4096)
    a_seconds = sum(a_times)
    matcher = LabelMatcher(lp.labels, lp.aliases)
    a_labels = [parse_answer(g.text, matcher, label_key=lp.label_key, reason_key=lp.reason_key).label for g in a_gens]

    # (b) the pipeline's way: label scores behind the shared zero-shot prefix
    instr = instruction_for("sentiment", list(SENTIMENT_CANONICAL), "full")
    b_prompts = [templater(build_prompt(instr, [], t)) for t in texts]
    t0 = time.perf_counter()
    engine = load_engine(teacher.gguf_path, EngineConfig(backend="llamacpp", threads=args.threads, n_ctx=4096))
    scores = score_candidates(engine, b_prompts, list(SENTIMENT_CANONICAL), parse_special=True)
    b_seconds = time.perf_counter() - t0
    # contextual calibration (Zhao et al., 2021): the label prior of content-free inputs
    t1 = time.perf_counter()
    cf_prompts = [templater(build_prompt(instr, [], t)) for t in CONTENT_FREE]
    cf_scores = score_candidates(engine, cf_prompts, list(SENTIMENT_CANONICAL), parse_special=True)
    cf_seconds = time.perf_counter() - t1
    engine.close()
    b_labels = [SENTIMENT_CANONICAL[max(range(3), key=s.__getitem__)] for s in scores]
    prior = [math.log(sum(math.exp(s[j]) for s in cf_scores) / len(cf_scores)) for j in range(3)]
    cal_scores = [[x - p for x, p in zip(s, prior)] for s in scores]
    cal_labels = [SENTIMENT_CANONICAL[max(range(3), key=s.__getitem__)] for s in cal_scores]

    parsed = [i for i, lab in enumerate(a_labels) if lab is not None]
    agreement = agreement_with(a_labels, b_labels)
    a_rate, b_rate = len(texts) / a_seconds, len(texts) / b_seconds
    ratio = b_rate / a_rate
    confusion = Counter(f"{a_labels[i]}->{b_labels[i]}" for i in parsed if a_labels[i] != b_labels[i])
    cascades = {
        "scores": cascade_curve(scores, b_labels, a_labels, a_times, b_seconds),
        "calibrated_scores": cascade_curve(scores, cal_labels, a_labels, a_times, b_seconds + cf_seconds),
    }
    reachable = [(name, pt) for name, curve in cascades.items() for pt in curve if pt["agreement"] >= GOAL_AGREEMENT]
    best = max(reachable, key=lambda x: x[1]["ratio"]) if reachable else None
    flags = cpu_flags()
    result = write_result(
        "teacher_labeling",
        measured={
            "b_pipeline_label_scores": {
                "how": "llama.cpp in-process, next-token scores over positive/negative/neutral after the zero-shot BASIC "
                "instruction (chat template), prefix shared in the KV cache; engine load included",
                "texts": len(texts),
                "seconds": round(b_seconds, 2),
                "labels_per_s": round(b_rate, 3),
                "label_counts": dict(Counter(b_labels)),
            }
        },
        baseline={
            "a_notebook_server_cot_json": {
                "how": "llama_cpp.server /v1/completions, one request at a time, chain-of-thought JSON "
                f"(classifier.labels.prompt, <= {gen.max_new_tokens} new tokens), parsed",
                "texts": len(texts),
                "seconds": round(a_seconds, 2),
                "labels_per_s": round(a_rate, 3),
                "completion_tokens": sum(g.n_completion_tokens for g in a_gens),
                "unparsed": len(texts) - len(parsed),
                "label_counts": dict(Counter(a_labels)),
            }
        },
        ratio=round(ratio, 3),
        agreement=round(agreement, 4),
        calibrated={
            "how": "scores minus the log label prior of content-free inputs " + repr(CONTENT_FREE),
            "prior": [round(p, 4) for p in prior],
            "seconds": round(b_seconds + cf_seconds, 2),
            "ratio": round(a_seconds / (b_seconds + cf_seconds), 3),
            "agreement": round(agreement_with(a_labels, cal_labels), 4),
            "label_counts": dict(Counter(cal_labels)),
        },
        cascade={
            "how": "texts whose top label probability is below the threshold get the chain-of-thought answer "
            "(its measured request time from (a) added); the rest keep the scored label",
            "curves": cascades,
            "best_ratio_at_agreement_goal": {"labels": best[0], **best[1]} if best else None,
        },
        agreement_n=len(parsed),
        disagreements=dict(confusion),
        goal={"ratio_min": GOAL_RATIO, "agreement_min": GOAL_AGREEMENT},
        goal_met={"ratio": ratio >= GOAL_RATIO, "agreement": agreement >= GOAL_AGREEMENT},
        teacher=teacher.name,
        precision="llama.cpp GGUF weights as shipped (no torch dtype involved)",
        cpu_flags={f: f in flags for f in ("avx2", "avx512f", "avx512_bf16", "amx_bf16")},
    )
    print(
        f"(a) notebook: {a_rate:.3f} labels/s   (b) pipeline: {b_rate:.3f} labels/s   ratio {ratio:.2f}x   "
        f"agreement {agreement:.3f} on {len(parsed)} texts -> {result}"
    )
    for name, curve in cascades.items():
        for pt in curve:
            print(
                f"  cascade {name:18s} threshold {pt['threshold']:.2f}: fallback {pt['fallback_share']:.0%}, "
                f"agreement {pt['agreement']:.3f}, ratio {pt['ratio']:.2f}x"
            )
    return {"ratio": ratio, "agreement": agreement}


if __name__ == "__main__":
    main()
