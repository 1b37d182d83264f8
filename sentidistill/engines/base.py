"""One small interface over model backends (transformers, llama.cpp, vLLM, OpenAI-compatible).

SentiBench needs three things from a model: raw next-token logits restricted to
label tokens (one forward pass per example), the log-likelihood of whole label
strings (when label first tokens collide), and greedy generation for the
fine-grained tasks. Teacher generation (KnowDist/ICLDist) needs generation with
token counts and a finish reason. Every backend implements exactly that.
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

#: "error": the engine failed on this row (``Generation.error`` says why); never cached
FinishReason = Literal["stop", "length", "error"]
#: A stop criterion the caller supplies (the engines know no task): the length of the prefix of
#: the generated text to keep once it is complete, None while it is not.
StopWhen = Callable[[str], "int | None"]


@dataclass(frozen=True)
class Generation:
    text: str
    n_prompt_tokens: int
    n_completion_tokens: int
    finish_reason: FinishReason
    error: str | None = None


@dataclass(frozen=True)
class GenerationParams:
    """Sampling parameters. ``temperature == 0`` is greedy (SentiBench, Section 4.1)."""

    max_new_tokens: int = 256
    temperature: float = 0.0
    top_p: float = 1.0
    seed: int = 0
    # Stop once ``stop_when(text)`` says the text is complete, keeping that prefix (e.g.
    # SentiBench's answer after "Label:", sentidistill.sentibench.parsing.answer_end).
    stop_when: StopWhen | None = None
    stop: tuple[str, ...] = field(default_factory=tuple)
    # The prompt is already chat-templated: its special-token strings (``<|im_start|>``)
    # are parsed as special tokens and no BOS is added (the template has its own).
    parse_special: bool = False


def apply_stop_when(text: str, params: GenerationParams) -> tuple[str, bool]:
    """``(text cut at the criterion's end, True)`` once ``params.stop_when`` is met, else ``(text, False)``."""
    if params.stop_when is None or (end := params.stop_when(text)) is None:
        return text, False
    return text[:end], True


def truncate_at_stop(text: str, stops: tuple[str, ...]) -> tuple[str, bool]:
    cut = min((i for s in stops if (i := text.find(s)) >= 0), default=-1)
    return (text[:cut], True) if cut >= 0 else (text, False)


class Engine(abc.ABC):
    """A loaded model. Engines are created by :func:`sentidistill.engines.load_engine`."""

    #: short backend name: "transformers", "llamacpp", "vllm", "openai"
    backend: str = "base"

    @abc.abstractmethod
    def tokenize(self, text: str, *, add_special_tokens: bool = True) -> list[int]:
        """Token ids as this backend's tokenizer produces them."""

    def first_token_ids(self, labels: list[str]) -> list[int]:
        """First token of each label as it follows ``Label:`` (a leading space), as the authors score."""
        return [self.tokenize(" " + label, add_special_tokens=False)[0] for label in labels]

    @abc.abstractmethod
    def next_token_logits(self, prompts: list[str], token_ids: list[int], *, parse_special: bool = False) -> np.ndarray:
        """Raw (unprocessed) next-token logits at the end of each prompt, restricted to ``token_ids``.

        ``parse_special``: the prompts are already rendered in a chat template, whose special
        tokens (``<|im_start|>``) are tokens, not text, and carry their own BOS if any.

        Shape ``[len(prompts), len(token_ids)]``, float32. Raw logits: no repetition
        penalty or other generation-config processing (see ../shared/MODELS.md).
        """

    @abc.abstractmethod
    def continuation_logprobs(self, prompts: list[str], continuations: list[str]) -> np.ndarray:
        """Sum of token log-probabilities of each continuation after each prompt.

        Shape ``[len(prompts), len(continuations)]``. Used for label sets whose first
        tokens collide.
        """

    @abc.abstractmethod
    def generate(self, prompts: list[str], params: GenerationParams) -> list[Generation]:
        """Completions of raw prompts (no chat template is applied here)."""

    def identity(self) -> dict[str, Any]:
        """What determines this engine's outputs (for cache keys and reports)."""
        return {"backend": self.backend}

    def close(self) -> None:  # pragma: no cover - backends override when they hold resources
        return None
