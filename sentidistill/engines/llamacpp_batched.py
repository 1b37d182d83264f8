"""llama.cpp with several sequences decoded together (``engine.n_parallel > 1``).

A single-sequence decode step reads every weight to produce one token; on a CPU it is
bound by memory bandwidth, not arithmetic. Decoding ``n_parallel`` sequences in one
``llama_decode`` call reads the weights once for all of them, so throughput grows with
the number of sequences until the cores' arithmetic is saturated (continuous batching:
a finished sequence frees its slot for the next prompt at once, and prompt prefill is
packed into the same batches).

Greedy decoding only (the teacher's default, Section 4.1); sampled generation falls
back to the one-sequence path of :class:`LlamaCppEngine`. Batched and one-at-a-time
greedy outputs can differ in rare near-ties (different float summation order).
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from sentidistill.engines.base import Generation, GenerationParams, truncate_at_stop
from sentidistill.engines.llamacpp_engine import LlamaCppEngine
from sentidistill.log import get_logger

log = get_logger(__name__)


@dataclass
class _Slot:
    index: int  # position of the prompt in the input list
    tokens: list[int]  # prompt tokens
    fed: int = 0  # prompt tokens already in the KV cache
    new: list[int] = field(default_factory=list)
    next_token: int | None = None

    @property
    def pos(self) -> int:
        return self.fed + len(self.new) - (1 if self.next_token is not None else 0)


class LlamaCppBatchedEngine(LlamaCppEngine):
    """:class:`LlamaCppEngine` plus a multi-sequence greedy ``generate``."""

    def __init__(
        self,
        gguf_path: str | Path,
        *,
        n_ctx: int = 8192,
        threads: int | None = None,
        n_batch: int = 512,
        n_parallel: int = 4,
        seed: int = 0,
    ) -> None:
        # the parent's own context serves tokenize / scoring / sampled generation; keep it small
        super().__init__(gguf_path, n_ctx=min(n_ctx, 2048), threads=threads, n_batch=n_batch, seed=seed)
        llama_cpp = self._llama_cpp
        self.n_parallel = n_parallel
        self.n_ctx_total = n_ctx
        self.n_batch = n_batch
        cparams = llama_cpp.llama_context_default_params()
        cparams.n_ctx = n_ctx
        cparams.n_batch = n_batch
        cparams.n_ubatch = n_batch
        cparams.n_seq_max = n_parallel
        cparams.kv_unified = True  # one KV pool shared by all sequences (prompts differ in length)
        if threads:
            cparams.n_threads = threads
            cparams.n_threads_batch = threads
        self._bctx = llama_cpp.llama_init_from_model(self.llm._model.model, cparams)
        if not self._bctx:
            raise RuntimeError(f"llama.cpp could not create a {n_parallel}-sequence context of {n_ctx} tokens")
        self._mem = llama_cpp.llama_get_memory(self._bctx)
        self._batch = llama_cpp.llama_batch_init(n_batch, 0, 1)
        self._vocab = self.llm._model.vocab

    def close(self) -> None:
        if getattr(self, "_bctx", None):
            self._llama_cpp.llama_batch_free(self._batch)
            self._llama_cpp.llama_free(self._bctx)
            self._bctx = None
        super().close()

    def _logits_row(self, i: int) -> np.ndarray:
        ptr = self._llama_cpp.llama_get_logits_ith(self._bctx, i)
        return np.ctypeslib.as_array(ctypes.cast(ptr, ctypes.POINTER(ctypes.c_float)), shape=(self.n_vocab,))

    def generate(self, prompts: list[str], params: GenerationParams) -> list[Generation]:
        if params.temperature > 0 or self.n_parallel <= 1:
            return super().generate(prompts, params)
        lc = self._llama_cpp
        toks = [
            self.llm.tokenize(p.encode("utf-8"), add_bos=not params.parse_special, special=params.parse_special)
            for p in prompts
        ]
        for t in toks:
            if len(t) + params.max_new_tokens > self.n_ctx_total:
                raise ValueError(
                    f"prompt of {len(t)} tokens + {params.max_new_tokens} new tokens exceeds n_ctx={self.n_ctx_total}"
                )
        results: list[Generation | None] = [None] * len(prompts)
        queue = list(range(len(prompts)))
        slots: dict[int, _Slot] = {}
        free = list(range(self.n_parallel))
        budget = lambda s: len(s.tokens) + params.max_new_tokens  # noqa: E731 - KV cells a slot may use
        lc.llama_memory_clear(self._mem, True)
        batch = self._batch
        while queue or slots:
            # admit prompts while a sequence slot and KV room are free
            while (
                queue
                and free
                and sum(budget(s) for s in slots.values()) + budget(_Slot(0, toks[queue[0]])) <= self.n_ctx_total
            ):
                i = queue.pop(0)
                slots[free.pop(0)] = _Slot(i, toks[i])
            n = 0
            wants: list[tuple[int, int]] = []  # (batch row, seq id) whose logits we read
            for seq, s in slots.items():  # one decode token per generating sequence
                if s.next_token is not None and n < self.n_batch:
                    self._put(batch, n, s.next_token, s.pos, seq, True)
                    wants.append((n, seq))
                    n += 1
            for seq, s in slots.items():  # then prompt chunks, as much as the batch holds
                if s.fed < len(s.tokens) and n < self.n_batch:
                    take = min(len(s.tokens) - s.fed, self.n_batch - n)
                    for j in range(take):
                        last = s.fed + j == len(s.tokens) - 1
                        self._put(batch, n, s.tokens[s.fed + j], s.fed + j, seq, last)
                        if last:
                            wants.append((n, seq))
                        n += 1
                    s.fed += take
            batch.n_tokens = n
            rc = lc.llama_decode(self._bctx, batch)
            if rc != 0:
                raise RuntimeError(f"llama_decode failed ({rc}); lower engine.n_parallel or raise engine.n_ctx")
            for row, seq in wants:
                s = slots[seq]
                tok = int(self._logits_row(row).argmax())
                done_reason = None
                if lc.llama_vocab_is_eog(self._vocab, tok):
                    done_reason = "stop"
                else:
                    s.new.append(tok)
                    s.next_token = tok
                    if params.stop or params.stop_when is not None:
                        text = self.llm.detokenize(s.new).decode("utf-8", errors="ignore")
                        if params.stop and truncate_at_stop(text, params.stop)[1]:
                            done_reason = "stop"
                        elif params.stop_when is not None and params.stop_when(text) is not None:
                            done_reason = "stop"
                    if done_reason is None and len(s.new) >= params.max_new_tokens:
                        done_reason = "length"
                if done_reason is not None:
                    text = self.llm.detokenize(s.new).decode("utf-8", errors="ignore")
                    if params.stop:
                        text = truncate_at_stop(text, params.stop)[0]
                    results[s.index] = Generation(text, len(s.tokens), len(s.new), done_reason)  # type: ignore[arg-type]
                    lc.llama_memory_seq_rm(self._mem, seq, -1, -1)
                    del slots[seq]
                    free.append(seq)
        return [r for r in results if r is not None]

    @staticmethod
    def _put(batch: object, i: int, token: int, pos: int, seq: int, logits: bool) -> None:
        batch.token[i] = token  # type: ignore[attr-defined]
        batch.pos[i] = pos  # type: ignore[attr-defined]
        batch.n_seq_id[i] = 1  # type: ignore[attr-defined]
        batch.seq_id[i][0] = seq  # type: ignore[attr-defined]
        batch.logits[i] = 1 if logits else 0  # type: ignore[attr-defined]
