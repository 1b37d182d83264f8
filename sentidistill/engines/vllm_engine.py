"""vLLM backend for GPU machines (optional ``gpu`` extra), imported lazily.

Label scores use prompt log-probabilities of ``prompt + [label token]`` with prefix
caching on, so every candidate costs one extra token and the numbers do not depend
on vLLM's logprobs post-processing mode. The values returned by
:meth:`next_token_logits` are log-probabilities: a per-row shift of the raw logits,
so argmax and margins are unchanged.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from sentidistill.engines.base import (
    Engine,
    Generation,
    GenerationParams,
    apply_stop_when,
    truncate_at_stop,
)
from sentidistill.models.folder import weights_digest


def _import_vllm() -> Any:
    try:
        import vllm
    except ImportError as exc:  # pragma: no cover - GPU machines only
        raise ImportError(
            "the vllm engine needs vLLM on a CUDA machine: `pip install -e '.[gpu]'`. "
            "On a CPU machine use engine: llamacpp or transformers in params.yaml."
        ) from exc
    return vllm


class VLLMEngine(Engine):
    backend = "vllm"

    def __init__(
        self,
        model_path: str | Path,
        *,
        tensor_parallel_size: int = 1,
        dtype: str = "bfloat16",
        gpu_memory_utilization: float = 0.9,
        max_model_len: int | None = None,
        seed: int = 0,
    ) -> None:
        from sentidistill.models.safe_load import remote_code_allowed, require_safetensors

        self.model_path = str(model_path)
        gguf = self.model_path.lower().endswith(".gguf")
        if not gguf:
            require_safetensors(self.model_path)  # never unpickle weights (a .bin-only folder is refused)
        vllm = _import_vllm()
        self._vllm = vllm
        self.dtype = dtype
        self.tensor_parallel_size = tensor_parallel_size
        self.llm = vllm.LLM(
            model=self.model_path,
            tensor_parallel_size=tensor_parallel_size,
            dtype=dtype,
            gpu_memory_utilization=gpu_memory_utilization,
            max_model_len=max_model_len,
            enable_prefix_caching=True,
            seed=seed,
            # off unless the model's registry entry turns it on; "auto" would fall back to .bin pickles
            trust_remote_code=remote_code_allowed(self.model_path),
            load_format="gguf" if gguf else "safetensors",
        )
        self.tokenizer = self.llm.get_tokenizer()

    def tokenize(self, text: str, *, add_special_tokens: bool = True) -> list[int]:
        return list(self.tokenizer(text, add_special_tokens=add_special_tokens)["input_ids"])

    def identity(self) -> dict[str, Any]:
        return {
            "backend": self.backend,
            "model": self.model_path,
            "dtype": self.dtype,
            "weights": weights_digest(self.model_path),
        }

    def _prompt_logprob_sums(self, seqs: list[list[int]], starts: list[int]) -> list[float]:
        sp = self._vllm.SamplingParams(max_tokens=1, temperature=0.0, prompt_logprobs=0)
        outs = self.llm.generate([{"prompt_token_ids": s} for s in seqs], sp, use_tqdm=False)
        sums = []
        for seq, start, out in zip(seqs, starts, outs):
            total = 0.0
            for pos in range(start, len(seq)):
                entry = out.prompt_logprobs[pos]
                total += float(entry[seq[pos]].logprob)
            sums.append(total)
        return sums

    def next_token_logits(self, prompts: list[str], token_ids: list[int], *, parse_special: bool = False) -> np.ndarray:
        seqs, starts = [], []
        for p in prompts:
            base = self.tokenize(p, add_special_tokens=not parse_special)
            for t in token_ids:
                seqs.append(base + [t])
                starts.append(len(base))
        flat = self._prompt_logprob_sums(seqs, starts)
        return np.asarray(flat, dtype=np.float32).reshape(len(prompts), len(token_ids))

    def continuation_logprobs(self, prompts: list[str], continuations: list[str]) -> np.ndarray:
        conts = [self.tokenize(c, add_special_tokens=False) for c in continuations]
        seqs, starts = [], []
        for p in prompts:
            base = self.tokenize(p)
            for c in conts:
                seqs.append(base + c)
                starts.append(len(base))
        flat = self._prompt_logprob_sums(seqs, starts)
        return np.asarray(flat, dtype=np.float32).reshape(len(prompts), len(continuations))

    def generate(self, prompts: list[str], params: GenerationParams) -> list[Generation]:
        greedy = params.temperature <= 0
        sp = self._vllm.SamplingParams(
            max_tokens=params.max_new_tokens,
            temperature=0.0 if greedy else params.temperature,
            top_p=1.0 if greedy else params.top_p,
            seed=params.seed,
            repetition_penalty=1.0,
            stop=list(params.stop) or None,
        )
        special = not params.parse_special
        outs = self.llm.generate(
            [{"prompt_token_ids": self.tokenize(p, add_special_tokens=special)} for p in prompts], sp, use_tqdm=True
        )
        results = []
        for out in outs:
            comp = out.outputs[0]
            text = comp.text
            reason = "stop" if comp.finish_reason == "stop" else "length"
            text, complete = apply_stop_when(text, params)
            if complete:
                reason = "stop"
            elif params.stop:
                text = truncate_at_stop(text, params.stop)[0]
            results.append(Generation(text, len(out.prompt_token_ids), len(comp.token_ids), reason))
        return results
