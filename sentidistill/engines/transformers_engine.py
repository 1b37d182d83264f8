"""transformers backend: any Hugging Face causal LM (hub id or local folder).

Label scoring is organised for CPU throughput without changing the numbers:

* The instruction is identical in every prompt of a dataset, so its key/value cache is
  computed once and shared by every batch (exact: same positions, same tokens).
* Prompts are sorted by length and packed into batches under a token budget, with
  *right* padding after the shared prefix, so little compute is spent on padding.
* Only the hidden state at each prompt's last real token goes through the LM head.

The result equals one unpadded forward pass per prompt up to float rounding.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
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


def _common_prefix_len(seqs: Sequence[Sequence[int]]) -> int:
    if not seqs:
        return 0
    first = seqs[0]
    n = min(len(s) for s in seqs)
    for s in seqs[1:]:
        i = 0
        while i < n and s[i] == first[i]:
            i += 1
        n = i
        if n == 0:
            break
    return n


def token_budget_batches(lengths: Sequence[int], max_tokens: int, max_batch: int) -> Iterator[list[int]]:
    """Indices grouped into batches of similar length whose padded size stays under ``max_tokens``.

    Sorting by length keeps padding small; a single over-long item still gets its own batch.
    """
    order = sorted(range(len(lengths)), key=lambda i: (lengths[i], i))
    batch: list[int] = []
    longest = 0
    for i in order:
        cand = max(longest, lengths[i])
        if batch and (cand * (len(batch) + 1) > max_tokens or len(batch) >= max_batch):
            yield batch
            batch, cand = [], lengths[i]
        batch.append(i)
        longest = cand
    if batch:
        yield batch


class TransformersEngine(Engine):
    backend = "transformers"

    def __init__(
        self,
        model_path: str | Path,
        *,
        dtype: str = "float32",
        threads: int | None = None,
        max_batch_tokens: int = 4096,
        max_batch_size: int = 32,
        share_prefix: bool = True,
    ) -> None:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        from sentidistill.models.safe_load import remote_code_allowed, require_safetensors

        if threads:
            torch.set_num_threads(threads)
        self._torch = torch
        self.model_path = str(model_path)
        self.dtype = dtype
        self.max_batch_tokens = max_batch_tokens
        self.max_batch_size = max_batch_size
        self.share_prefix = share_prefix
        require_safetensors(self.model_path)  # never unpickle weights (a .bin-only folder is refused)
        trust = remote_code_allowed(self.model_path)  # off unless the model's registry entry turns it on
        self.tokenizer = AutoTokenizer.from_pretrained(self.model_path, trust_remote_code=trust)
        if self.tokenizer.pad_token_id is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.model = AutoModelForCausalLM.from_pretrained(
            self.model_path, dtype=getattr(torch, dtype), trust_remote_code=trust, use_safetensors=True
        )
        self.model.eval()

    # ------------------------------------------------------------------ basics
    def tokenize(self, text: str, *, add_special_tokens: bool = True) -> list[int]:
        return list(self.tokenizer(text, add_special_tokens=add_special_tokens)["input_ids"])

    def identity(self) -> dict[str, Any]:
        return {
            "backend": self.backend,
            "model": self.model_path,
            "dtype": self.dtype,
            "weights": weights_digest(self.model_path),
        }

    # ------------------------------------------------------- batched forward
    def _prefix_cache(self, prefix: list[int]) -> tuple[Any, int]:
        torch = self._torch
        if not prefix:
            return None, 0
        with torch.inference_mode():
            out = self.model(input_ids=torch.tensor([prefix]), use_cache=True)
        kv = [(layer[0], layer[1]) for layer in out.past_key_values]
        return kv, len(prefix)

    def _hidden_at(self, seqs: list[list[int]], positions: list[list[int]]) -> Iterator[tuple[int, Any]]:
        """Final hidden states of ``seqs[i]`` at ``positions[i]`` (indices into the full sequence).

        Yields ``(i, tensor[len(positions[i]), hidden])``. Shares the common prefix's
        cache across all sequences and right-pads the remainders.
        """
        torch = self._torch
        from transformers import DynamicCache

        n_prefix = _common_prefix_len(seqs) if self.share_prefix and len(seqs) > 1 else 0
        # every sequence must keep at least one token (and every scored position) after the prefix
        n_prefix = min([n_prefix, *[min(p) for p in positions if p]]) if n_prefix else 0
        n_prefix = max(0, min(n_prefix, min(len(s) for s in seqs) - 1))
        prefix_kv, n_prefix = self._prefix_cache(seqs[0][:n_prefix])
        suffixes = [s[n_prefix:] for s in seqs]
        pad = self.tokenizer.pad_token_id
        budget = max(self.max_batch_tokens, 1)
        for batch in token_budget_batches([len(s) for s in suffixes], budget, self.max_batch_size):
            width = max(len(suffixes[i]) for i in batch)
            ids = torch.full((len(batch), width), pad, dtype=torch.long)
            mask = torch.zeros((len(batch), n_prefix + width), dtype=torch.long)
            mask[:, :n_prefix] = 1
            for r, i in enumerate(batch):
                ids[r, : len(suffixes[i])] = torch.tensor(suffixes[i])
                mask[r, n_prefix : n_prefix + len(suffixes[i])] = 1
            pos = torch.arange(n_prefix, n_prefix + width).unsqueeze(0).expand(len(batch), -1)
            cache = None
            if prefix_kv is not None:
                b = len(batch)
                cache = DynamicCache(
                    ddp_cache_data=[(k.expand(b, -1, -1, -1), v.expand(b, -1, -1, -1)) for k, v in prefix_kv]
                )
            with torch.inference_mode():
                out = self.model.model(
                    input_ids=ids,
                    attention_mask=mask,
                    position_ids=pos,
                    past_key_values=cache,
                    use_cache=cache is not None,
                )
            hidden = out.last_hidden_state
            for r, i in enumerate(batch):
                idx = torch.tensor([p - n_prefix for p in positions[i]])
                yield i, hidden[r, idx]

    def _lm_head(self, hidden: Any) -> Any:
        with self._torch.inference_mode():
            return self.model.get_output_embeddings()(hidden).float()

    def next_token_logits(self, prompts: list[str], token_ids: list[int], *, parse_special: bool = False) -> np.ndarray:
        seqs = [self.tokenize(p, add_special_tokens=not parse_special) for p in prompts]
        out = np.zeros((len(prompts), len(token_ids)), dtype=np.float32)
        ids = self._torch.tensor(token_ids)
        for i, h in self._hidden_at(seqs, [[len(s) - 1] for s in seqs]):
            out[i] = self._lm_head(h)[0, ids].numpy()
        return out

    def continuation_logprobs(self, prompts: list[str], continuations: list[str]) -> np.ndarray:
        torch = self._torch
        cont_ids = [self.tokenize(c, add_special_tokens=False) for c in continuations]
        seqs, positions, targets, owners = [], [], [], []
        for pi, p in enumerate(prompts):
            base = self.tokenize(p)
            for ci, c in enumerate(cont_ids):
                seqs.append(base + c)
                # the logit predicting c[j] sits at position len(base)-1+j
                positions.append([len(base) - 1 + j for j in range(len(c))])
                targets.append(c)
                owners.append((pi, ci))
        out = np.zeros((len(prompts), len(continuations)), dtype=np.float32)
        for k, h in self._hidden_at(seqs, positions):
            logp = torch.log_softmax(self._lm_head(h), dim=-1)
            pi, ci = owners[k]
            out[pi, ci] = float(logp[torch.arange(len(targets[k])), torch.tensor(targets[k])].sum())
        return out

    # ---------------------------------------------------------------- generate
    def generate(self, prompts: list[str], params: GenerationParams) -> list[Generation]:
        torch = self._torch
        from transformers import GenerationConfig, StoppingCriteria, StoppingCriteriaList

        tok = self.tokenizer
        results: list[Generation | None] = [None] * len(prompts)
        seqs = [self.tokenize(p, add_special_tokens=not params.parse_special) for p in prompts]
        greedy = params.temperature <= 0
        config = GenerationConfig(
            max_new_tokens=params.max_new_tokens,
            do_sample=not greedy,
            temperature=params.temperature if not greedy else None,
            top_p=params.top_p if not greedy else None,
            pad_token_id=tok.pad_token_id,
            eos_token_id=tok.eos_token_id,
        )

        class _AnswerDone(StoppingCriteria):
            def __init__(self, start: int) -> None:
                self.start = start

            def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
                done = []
                for row in input_ids:
                    text = tok.decode(row[self.start :], skip_special_tokens=True)
                    stop = params.stop_when is not None and params.stop_when(text) is not None
                    stop = stop or bool(params.stop and truncate_at_stop(text, params.stop)[1])
                    done.append(stop)
                return torch.tensor(done, dtype=torch.bool)

        for batch in token_budget_batches([len(s) for s in seqs], self.max_batch_tokens, self.max_batch_size):
            width = max(len(seqs[i]) for i in batch)
            ids = torch.full((len(batch), width), tok.pad_token_id, dtype=torch.long)
            mask = torch.zeros((len(batch), width), dtype=torch.long)
            for r, i in enumerate(batch):  # left padding for generation
                ids[r, width - len(seqs[i]) :] = torch.tensor(seqs[i])
                mask[r, width - len(seqs[i]) :] = 1
            if not greedy:
                torch.manual_seed(params.seed)
            with torch.inference_mode():
                gen = self.model.generate(
                    input_ids=ids,
                    attention_mask=mask,
                    generation_config=config,
                    stopping_criteria=StoppingCriteriaList([_AnswerDone(width)]),
                )
            for r, i in enumerate(batch):
                new = gen[r, width:].tolist()
                n_new = len(new)
                while n_new and new[n_new - 1] == tok.pad_token_id:
                    n_new -= 1
                hit_eos = n_new < len(new) or (n_new and new[n_new - 1] == tok.eos_token_id)
                text = tok.decode(new[:n_new], skip_special_tokens=True)
                text, hit_stop = truncate_at_stop(text, params.stop) if params.stop else (text, False)
                if hit_eos or hit_stop or (params.stop_when is not None and params.stop_when(text) is not None):
                    reason = "stop"
                else:
                    reason = "length"
                results[i] = Generation(text, len(seqs[i]), n_new, reason)  # type: ignore[arg-type]
        return [r for r in results if r is not None]
