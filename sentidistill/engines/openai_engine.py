"""OpenAI-compatible HTTP backend: any server speaking ``/v1/completions`` (vLLM serve,
the llama.cpp server, Ollama, a hosted API), the setup of the seed notebook.

Plain HTTP through the standard library (``urllib``), so it needs no extra package.
Raw prompts go to ``/v1/completions`` (the prompt is sent as it is: apply the chat
template before, as the teacher stage does); with ``chat=True`` each prompt is sent as
one user message to ``/v1/chat/completions`` and the server applies its template.
Requests run concurrently (``max_concurrency`` threads), results keep prompt order.

The API gives no raw next-token logits, so the label-scoring methods raise: evaluate
with the transformers/llama.cpp/vLLM engines.
"""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from sentidistill.engines.base import Engine, Generation, GenerationParams, answer_complete, truncate_at_stop
from sentidistill.log import get_logger

log = get_logger(__name__)


class OpenAIServerError(RuntimeError):
    """The server refused or failed a request (the message has its status and body)."""


class OpenAIEngine(Engine):
    backend = "openai"

    def __init__(
        self,
        base_url: str,
        *,
        model: str | None = None,
        api_key_env: str | None = "OPENAI_API_KEY",
        timeout_s: float = 600.0,
        max_concurrency: int = 4,
        chat: bool = False,
        retries: int = 2,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.api_key = os.environ.get(api_key_env) if api_key_env else None
        self.timeout_s = timeout_s
        self.max_concurrency = max_concurrency
        self.chat = chat
        self.retries = retries
        self.model = model or self._first_model()

    # ------------------------------------------------------------------ http
    def _request(self, path: str, payload: dict[str, Any] | None = None) -> dict[str, Any]:
        url = f"{self.base_url}{path}"
        data = json.dumps(payload).encode("utf-8") if payload is not None else None
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        req = urllib.request.Request(url, data=data, headers=headers, method="POST" if data else "GET")
        for attempt in range(self.retries + 1):
            try:
                with urllib.request.urlopen(req, timeout=self.timeout_s) as resp:
                    return json.loads(resp.read().decode("utf-8"))
            except urllib.error.HTTPError as exc:
                body = exc.read().decode("utf-8", errors="replace")[:500]
                if exc.code < 500 or attempt == self.retries:
                    raise OpenAIServerError(f"{url}: HTTP {exc.code}: {body}") from None
            except (urllib.error.URLError, ConnectionError, TimeoutError) as exc:
                if attempt == self.retries:
                    raise OpenAIServerError(
                        f"{url}: {exc}. Is the server running? Check teacher.engine.openai.base_url in params.yaml."
                    ) from None
            time.sleep(0.5 * 2**attempt)
        raise AssertionError("unreachable")  # pragma: no cover

    def _first_model(self) -> str:
        models = self._request("/models").get("data") or []
        if not models:
            raise OpenAIServerError(f"{self.base_url}/models lists no model: set teacher.engine.openai.model")
        return str(models[0]["id"])

    def identity(self) -> dict[str, Any]:
        return {"backend": self.backend, "model": self.model, "chat": self.chat}

    # ------------------------------------------------------------ generation
    def _one(self, prompt: str, params: GenerationParams) -> Generation:
        greedy = params.temperature <= 0
        body: dict[str, Any] = {
            "model": self.model,
            "max_tokens": params.max_new_tokens,
            "temperature": 0.0 if greedy else params.temperature,
            "top_p": 1.0 if greedy else params.top_p,
            "seed": params.seed,
        }
        if params.stop:
            body["stop"] = list(params.stop)
        if self.chat:
            body["messages"] = [{"role": "user", "content": prompt}]
            out = self._request("/chat/completions", body)
            choice = out["choices"][0]
            text = choice["message"].get("content") or ""
        else:
            body["prompt"] = prompt
            out = self._request("/completions", body)
            choice = out["choices"][0]
            text = choice.get("text") or ""
        usage = out.get("usage") or {}
        reason = "length" if choice.get("finish_reason") == "length" else "stop"
        if params.stop_at_answer and answer_complete(text):
            body_text = text.lstrip()
            end = body_text.find("```", 3) + 3 if body_text.startswith("```") else body_text.find("\n") + 1
            text, reason = text[: len(text) - len(body_text) + end], "answer_complete"
        elif params.stop:
            text = truncate_at_stop(text, params.stop)[0]
        return Generation(
            text, int(usage.get("prompt_tokens", 0)), int(usage.get("completion_tokens", 0)), reason  # type: ignore[arg-type]
        )

    def generate(self, prompts: list[str], params: GenerationParams) -> list[Generation]:
        if len(prompts) <= 1 or self.max_concurrency == 1:
            return [self._one(p, params) for p in prompts]
        with ThreadPoolExecutor(max_workers=min(self.max_concurrency, len(prompts))) as pool:
            return list(pool.map(lambda p: self._one(p, params), prompts))

    # --------------------------------------------------- scoring: unsupported
    def tokenize(self, text: str, *, add_special_tokens: bool = True) -> list[int]:
        raise NotImplementedError("the OpenAI-compatible API has no tokenizer endpoint; use a local engine")

    def next_token_logits(self, prompts: list[str], token_ids: list[int], *, parse_special: bool = False) -> np.ndarray:
        raise NotImplementedError("the OpenAI-compatible API gives no raw logits; evaluate with a local engine")

    def continuation_logprobs(self, prompts: list[str], continuations: list[str]) -> np.ndarray:
        raise NotImplementedError("the OpenAI-compatible API gives no raw logits; evaluate with a local engine")
