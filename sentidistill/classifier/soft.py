"""The teacher's label probabilities ("soft labels") at the position where it wrote the label.

After the teacher has answered ``{"reason": "...", "label": "``, its next-token distribution
over the label words is its confidence in each label *given its own rationale*. The scorer
feeds ``prompt + answer[:label_offset]`` back to the same engine and reads the raw next-token
logits (``Engine.next_token_logits``) of each label's first token -- summed over the spellings
``positive`` / ``Positive`` / ``POSITIVE`` by log-sum-exp -- then a softmax over the labels.
If two labels share a first token under the teacher's tokenizer, the whole label strings are
scored instead (``Engine.continuation_logprobs``, mode ``full_loglik``). Engine-agnostic: any
backend with next-token logits works (not the OpenAI-compatible one, which has none).

Chat-templated prompts contain special-token strings (``<|im_start|>``); generation parsed
them as special tokens, so the scorer does too (:func:`special_token_parsing`).

Scores are cached like teacher answers, in the labeling stage's own cache namespace (key =
teacher identity + label set + scorer version + scored text, disjoint from the generation
keys): a rerun with the same answers costs nothing, and ``dvc push`` shares them.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from sentidistill.engines.base import Engine
from sentidistill.log import get_logger, progress_bar
from sentidistill.teacher.cache import TeacherCache
from sentidistill.teacher.identity import cache_key, identity_label

log = get_logger(__name__)

SCORER_VERSION = 1
SOFT_MODES = ("first_token", "full_loglik")


class SoftLabelsUnavailable(ValueError):
    """The configured teacher engine cannot give next-token logits."""


def check_backend(backend: str) -> None:
    if backend == "openai":
        raise SoftLabelsUnavailable(
            "classifier.labels.soft_labels needs the teacher's next-token logits, which the OpenAI-compatible "
            "backend does not give: set classifier.labels.soft_labels: false (hard labels) or use a local "
            "teacher engine (llamacpp, transformers, vllm)"
        )


@contextlib.contextmanager
def special_token_parsing(engine: Engine) -> Iterator[Engine]:
    """Make ``engine.tokenize`` parse special-token strings (and add no BOS), as generation of a
    chat-templated prompt did; restored on exit."""
    if engine.backend == "llamacpp":
        llm = engine.llm  # type: ignore[attr-defined]

        def tok(text: str, *, add_special_tokens: bool = True) -> list[int]:
            return list(llm.tokenize(text.encode("utf-8"), add_bos=False, special=True))

    elif hasattr(engine, "tokenizer"):  # transformers, vllm: HF tokenizers match special-token strings

        def tok(text: str, *, add_special_tokens: bool = True) -> list[int]:
            return list(engine.tokenizer(text, add_special_tokens=False)["input_ids"])  # type: ignore[attr-defined]

    else:
        yield engine
        return
    engine.tokenize = tok  # type: ignore[method-assign]
    try:
        yield engine
    finally:
        del engine.tokenize  # the class method again


def label_token_ids(engine: Engine, labels: Sequence[str]) -> tuple[str, list[list[int]]]:
    """(mode, per label the first-token ids of its spellings). ``full_loglik`` when two labels
    share a first token (then the ids are unused)."""
    ids: list[list[int]] = []
    for lab in labels:
        spellings = dict.fromkeys([lab, lab.lower(), lab.capitalize(), lab.upper()])
        ids.append(sorted({engine.tokenize(s, add_special_tokens=False)[0] for s in spellings}))
    flat = [t for group in ids for t in group]
    return ("full_loglik" if len(set(flat)) < len(flat) else "first_token"), ids


def _softmax(x: np.ndarray) -> np.ndarray:
    z = x - x.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def score_prefixes(engine: Engine, prefixes: list[str], labels: Sequence[str]) -> tuple[str, np.ndarray]:
    """Label probabilities ``[len(prefixes), len(labels)]`` after each prefix."""
    mode, ids = label_token_ids(engine, labels)
    if mode == "first_token":
        flat = [t for group in ids for t in group]
        logits = engine.next_token_logits(prefixes, flat).astype(np.float64)
        scores = np.zeros((len(prefixes), len(labels)))
        col = 0
        for j, group in enumerate(ids):
            block = logits[:, col : col + len(group)]
            m = block.max(axis=1, keepdims=True)
            scores[:, j] = (m + np.log(np.exp(block - m).sum(axis=1, keepdims=True)))[:, 0]
            col += len(group)
    else:
        scores = engine.continuation_logprobs(prefixes, list(labels)).astype(np.float64)
    return mode, _softmax(scores)


def soft_labels(
    prefixes: Sequence[str | None],
    labels: Sequence[str],
    *,
    identity: dict[str, Any],
    cache_root: str | Path,
    engine_factory: Callable[[], Engine],
    namespace: str,
    chunk: int = 8,
) -> tuple[list[list[float] | None], dict[str, Any]]:
    """Probabilities for every non-None prefix (None stays None), through the soft-label cache.

    ``engine_factory`` is only called when some prefix is not cached.
    """
    spec = {"soft_labels": list(labels), "scorer": SCORER_VERSION}
    keys = [cache_key(identity, spec, p) if p is not None else None for p in prefixes]
    wanted = list(dict.fromkeys(k for k in keys if k is not None))
    cache = TeacherCache(Path(cache_root) / namespace)
    cache.remove_stale_temp_files()
    cached = {r["key"]: r for r in cache.lookup(wanted).iter_rows(named=True)}
    todo = [(k, p) for k, p in dict(zip(keys, prefixes)).items() if k is not None and k not in cached]
    stats: dict[str, Any] = {
        "requested": len(wanted),
        "cache_hits": len(wanted) - len(todo),
        "scored": 0,
        "seconds": 0.0,
        "modes": {},
    }
    if todo:
        t0 = time.perf_counter()
        engine = engine_factory()
        label = identity_label(identity)
        try:
            with special_token_parsing(engine), progress_bar(len(todo), desc="soft labels", unit="row") as bar:
                for start in range(0, len(todo), chunk):
                    part = todo[start : start + chunk]
                    mode, probs = score_prefixes(engine, [p for _, p in part], labels)
                    rows = [
                        {
                            "key": k,
                            "response": json.dumps({"mode": mode, "probs": [round(float(x), 6) for x in pr]}),
                            "n_prompt_tokens": 0,
                            "n_completion_tokens": 0,
                            "finish_reason": "stop",
                            "engine": label,
                        }
                        for (k, _), pr in zip(part, probs)
                    ]
                    cache.append(rows)
                    for r in rows:
                        cached[r["key"]] = r
                    bar.update(len(part))
        finally:
            engine.close()
        stats["scored"] = len(todo)
        stats["seconds"] = round(time.perf_counter() - t0, 3)
    out: list[list[float] | None] = []
    modes: dict[str, int] = {}
    for k in keys:
        if k is None:
            out.append(None)
            continue
        payload = json.loads(cached[k]["response"])
        modes[payload["mode"]] = modes.get(payload["mode"], 0) + 1
        out.append([float(x) for x in payload["probs"]])
    stats["modes"] = modes
    return out, stats
