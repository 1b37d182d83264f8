"""llama.cpp backend (GGUF files) through llama-cpp-python, imported lazily.

On a 2-core CPU this runs the quantized weights directly, which is what makes the
1.5B teacher usable here. The KV cache is reused across calls whenever a new prompt
starts with tokens already evaluated (the shared SentiBench instruction, or a
KnowDist prompt template), so only the differing suffix is computed.
"""

from __future__ import annotations

import ctypes
import os
from pathlib import Path
from typing import Any

import numpy as np

from sentidistill.engines.base import (
    Engine,
    Generation,
    GenerationParams,
    truncate_at_stop,
)
from sentidistill.log import get_logger
from sentidistill.models.folder import weights_digest

log = get_logger(__name__)


def _import_llama_cpp() -> Any:
    try:
        import llama_cpp
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "the llama.cpp engine needs llama-cpp-python: run `pip install -e '.[llamacpp]'` "
            "(or `make setup`, which builds it; ~13 min on 2 cores the first time)"
        ) from exc
    return llama_cpp


class LlamaCppEngine(Engine):
    backend = "llamacpp"

    def __init__(
        self,
        gguf_path: str | Path,
        *,
        n_ctx: int = 8192,
        threads: int | None = None,
        n_batch: int = 512,
        seed: int = 0,
    ) -> None:
        llama_cpp = _import_llama_cpp()
        self._llama_cpp = llama_cpp
        threads = threads or os.cpu_count()  # llama-cpp-python's own default is half the cores
        self.gguf_path = str(gguf_path)
        self.llm = llama_cpp.Llama(
            model_path=self.gguf_path,
            n_ctx=n_ctx,
            n_threads=threads,
            n_threads_batch=threads,
            n_batch=n_batch,
            n_ubatch=n_batch,
            logits_all=False,
            seed=seed,
            verbose=False,
        )
        self.n_vocab = self.llm.n_vocab()
        self.n_ctx = n_ctx

    def close(self) -> None:
        llm = getattr(self, "llm", None)
        if llm is not None:
            llm.close()
            self.llm = None

    def tokenize(self, text: str, *, add_special_tokens: bool = True) -> list[int]:
        return self.llm.tokenize(text.encode("utf-8"), add_bos=add_special_tokens, special=False)

    def identity(self) -> dict[str, Any]:
        return {"backend": self.backend, "model": self.gguf_path, "weights": weights_digest(self.gguf_path)}

    # -------------------------------------------------------------- evaluation
    def _eval_reusing_prefix(self, tokens: list[int]) -> None:
        """Evaluate ``tokens`` keeping whatever prefix of them is already in the KV cache."""
        if len(tokens) > self.n_ctx:
            raise ValueError(
                f"prompt of {len(tokens)} tokens exceeds the llama.cpp context ({self.n_ctx}); "
                "raise the engine's n_ctx in params.yaml"
            )
        llm = self.llm
        cached = llm.input_ids[: llm.n_tokens].tolist()
        keep = 0
        limit = min(len(cached), len(tokens) - 1)  # always re-evaluate the last token to get its logits
        while keep < limit and cached[keep] == tokens[keep]:
            keep += 1
        if keep < llm.n_tokens:
            keep = self._kv_truncate(keep)
            llm.n_tokens = keep
        llm.eval(tokens[keep:])

    def _kv_truncate(self, keep: int) -> int:
        ctx = self.llm._ctx
        if not ctx.kv_cache_seq_rm(-1, keep, -1):
            # the backend refused a partial removal: start over from an empty cache
            self.llm.reset()
            ctx.kv_cache_seq_rm(-1, 0, -1)
            return 0
        return keep

    def _last_logits(self) -> np.ndarray:
        ptr = self._llama_cpp.llama_get_logits_ith(self.llm._ctx.ctx, -1)
        arr = np.ctypeslib.as_array(ctypes.cast(ptr, ctypes.POINTER(ctypes.c_float)), shape=(self.n_vocab,))
        return arr.copy()

    def _prompt_tokens(self, prompt: str, parse_special: bool) -> list[int]:
        if parse_special:
            return self.llm.tokenize(prompt.encode("utf-8"), add_bos=False, special=True)
        return self.tokenize(prompt)

    def next_token_logits(self, prompts: list[str], token_ids: list[int], *, parse_special: bool = False) -> np.ndarray:
        out = np.zeros((len(prompts), len(token_ids)), dtype=np.float32)
        for i, p in enumerate(prompts):
            self._eval_reusing_prefix(self._prompt_tokens(p, parse_special))
            out[i] = self._last_logits()[token_ids]
        return out

    def continuation_logprobs(self, prompts: list[str], continuations: list[str]) -> np.ndarray:
        cont_ids = [self.tokenize(c, add_special_tokens=False) for c in continuations]
        out = np.zeros((len(prompts), len(continuations)), dtype=np.float32)
        for pi, p in enumerate(prompts):
            base = self.tokenize(p)
            for ci, c in enumerate(cont_ids):
                total = 0.0
                # evaluate base + c[:j] and read the logit predicting c[j]; the prefix cache makes
                # each step cost one token
                for j, tok in enumerate(c):
                    self._eval_reusing_prefix(base + c[:j])
                    logits = self._last_logits().astype(np.float64)
                    m = logits.max()
                    total += float(logits[tok] - m - np.log(np.exp(logits - m).sum()))
                out[pi, ci] = total
        return out

    # ---------------------------------------------------------------- generate
    def generate(self, prompts: list[str], params: GenerationParams) -> list[Generation]:
        llm = self.llm
        eos = llm.token_eos()
        results = []
        for p in prompts:
            tokens = self._prompt_tokens(p, params.parse_special)
            if len(tokens) + params.max_new_tokens > self.n_ctx:
                raise ValueError(
                    f"prompt of {len(tokens)} tokens + {params.max_new_tokens} new tokens exceeds n_ctx={self.n_ctx}"
                )
            greedy = params.temperature <= 0
            if not greedy:
                llm.set_seed(params.seed)
            new: list[int] = []
            reason = "length"
            text = ""
            for tok in llm.generate(
                tokens,
                temp=0.0 if greedy else params.temperature,
                top_k=1 if greedy else 0,
                top_p=1.0 if greedy else params.top_p,
                min_p=0.0,
                repeat_penalty=1.0,
                reset=True,
            ):
                if tok == eos or self._llama_cpp.llama_vocab_is_eog(llm._model.vocab, tok):
                    reason = "stop"
                    break
                new.append(tok)
                text = llm.detokenize(new).decode("utf-8", errors="ignore")
                if params.stop and truncate_at_stop(text, params.stop)[1]:
                    text, reason = truncate_at_stop(text, params.stop)[0], "stop"
                    break
                if params.stop_when is not None and params.stop_when(text) is not None:
                    reason = "stop"  # the caller's criterion: keep the text as generated
                    break
                if len(new) >= params.max_new_tokens:
                    break
            results.append(Generation(text, len(tokens), len(new), reason))  # type: ignore[arg-type]
        return results
