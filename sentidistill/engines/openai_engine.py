"""OpenAI-compatible HTTP backend: any server speaking ``/v1/completions`` (vLLM serve,
the llama.cpp server, Ollama, a hosted API), the setup of the seed notebook.

Plain HTTP through the standard library (``urllib``), so it needs no extra package.
Raw prompts go to ``/v1/completions`` (the prompt is sent as it is: apply the chat
template before, as the teacher stage does); with ``chat=True`` each prompt is sent as
one user message to ``/v1/chat/completions`` and the server applies its template.
Requests run concurrently (``max_concurrency`` threads), results keep prompt order.

A flaky server is expected: HTTP 5xx and 429 (honouring ``Retry-After``), timeouts, a
connection closed mid-response and a body that is not the JSON asked for are retried up to
``retries`` times with exponential backoff (``backoff_s`` * 2^attempt, capped). A request that
still fails becomes that row's ``Generation(finish_reason="error", error=...)`` -- the other
rows of the batch keep their answers, and the teacher stage records the row as failed (never
cached, so a rerun retries it). Errors a retry cannot mend (4xx but 429) fail at once.

The API gives no raw next-token logits, so the label-scoring methods raise: evaluate
with the transformers/llama.cpp/vLLM engines.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from sentidistill.engines.base import Engine, Generation, GenerationParams, apply_stop_when, truncate_at_stop
from sentidistill.log import get_logger

log = get_logger(__name__)


class OpenAIServerError(RuntimeError):
    """The server refused or failed a request (the message has its status and body)."""


#: the longest wait between two attempts, whatever the backoff or Retry-After say
MAX_BACKOFF_S = 60.0
_RETRYABLE = (urllib.error.URLError, ConnectionError, TimeoutError, socket.timeout, http.client.HTTPException, OSError)


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
        retries: int = 4,
        backoff_s: float = 0.5,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.api_key = os.environ.get(api_key_env) if api_key_env else None  # sent as a header, nowhere else
        self.timeout_s = timeout_s
        self.max_concurrency = max_concurrency
        self.chat = chat
        self.retries = retries
        self.backoff_s = backoff_s
        self.model = model or self._first_model()

    # ------------------------------------------------------------------ http
    def _wait(self, attempt: int, retry_after: str | None = None) -> None:
        delay = self.backoff_s * 2**attempt
        if retry_after is not None:
            try:
                delay = float(retry_after)
            except ValueError:
                pass
        time.sleep(min(max(delay, 0.0), MAX_BACKOFF_S))

    def _request(self, path: str, payload: dict[str, Any] | None = None) -> dict[str, Any]:
        url = f"{self.base_url}{path}"
        data = json.dumps(payload).encode("utf-8") if payload is not None else None
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        req = urllib.request.Request(url, data=data, headers=headers, method="POST" if data else "GET")
        last = ""
        for attempt in range(self.retries + 1):
            retry_after = None
            try:
                with urllib.request.urlopen(req, timeout=self.timeout_s) as resp:
                    body = resp.read()
                out = json.loads(body.decode("utf-8"))
                if not isinstance(out, dict) or ("choices" not in out and "data" not in out):
                    raise ValueError(f"no 'choices' in the response: {body[:200]!r}")
                return out
            except urllib.error.HTTPError as exc:
                text = exc.read().decode("utf-8", errors="replace")[:500]
                last = f"HTTP {exc.code}: {text}"
                if exc.code < 500 and exc.code != 429:  # the request itself is wrong: retrying will not help
                    raise OpenAIServerError(f"{url}: {last}") from None
                retry_after = exc.headers.get("Retry-After") if exc.headers else None
            except (ValueError, UnicodeDecodeError) as exc:  # a body that is not the JSON asked for
                last = f"malformed response ({type(exc).__name__}: {str(exc)[:200]})"
            except _RETRYABLE as exc:
                last = f"{type(exc).__name__}: {exc}"
            if attempt < self.retries:
                log.debug("%s: attempt %d failed (%s); retrying", url, attempt + 1, last[:200])
                self._wait(attempt, retry_after)
        raise OpenAIServerError(
            f"{url}: failed after {self.retries + 1} attempts, last: {last}. Is the server running and healthy? "
            "Check teacher.engine.openai (base_url, timeout_s, retries) in params.yaml."
        )

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
        text, complete = apply_stop_when(text, params)
        if complete:
            reason = "stop"
        elif params.stop:
            text = truncate_at_stop(text, params.stop)[0]
        return Generation(
            text,
            int(usage.get("prompt_tokens", 0)),
            int(usage.get("completion_tokens", 0)),
            reason,  # type: ignore[arg-type]
        )

    def _one_or_error(self, prompt: str, params: GenerationParams) -> Generation:
        try:
            return self._one(prompt, params)
        except (OpenAIServerError, KeyError, IndexError, TypeError) as exc:  # KeyError..: a reply of the wrong shape
            return Generation("", 0, 0, "error", error=f"{type(exc).__name__}: {exc}"[:1000])

    def generate(self, prompts: list[str], params: GenerationParams) -> list[Generation]:
        """One result per prompt, in order; a prompt whose request kept failing gets an error result."""
        if len(prompts) <= 1 or self.max_concurrency == 1:
            return [self._one_or_error(p, params) for p in prompts]
        with ThreadPoolExecutor(max_workers=min(self.max_concurrency, len(prompts))) as pool:
            return list(pool.map(lambda p: self._one_or_error(p, params), prompts))

    # --------------------------------------------------- scoring: unsupported
    def tokenize(self, text: str, *, add_special_tokens: bool = True) -> list[int]:
        raise NotImplementedError("the OpenAI-compatible API has no tokenizer endpoint; use a local engine")

    def next_token_logits(self, prompts: list[str], token_ids: list[int], *, parse_special: bool = False) -> np.ndarray:
        raise NotImplementedError("the OpenAI-compatible API gives no raw logits; evaluate with a local engine")

    def continuation_logprobs(self, prompts: list[str], continuations: list[str]) -> np.ndarray:
        raise NotImplementedError("the OpenAI-compatible API gives no raw logits; evaluate with a local engine")
