"""A local OpenAI-compatible HTTP server with per-request fault injection, for engine and stage tests.

Real servers fail in ways a client's unit tests rarely reach: 500s, 429 rate limits, requests that hang past the
client's timeout, connections cut mid-body, 200 bodies that are not JSON. This server answers ``GET /v1/models``,
``POST /v1/completions`` and ``POST /v1/chat/completions`` on 127.0.0.1 only (never another interface), and a
*plan* says which of those failures each request gets, so a test drives a client through them deterministically::

    plan = {"FAIL500": ["500", "500", "ok"], "SLOW": ["timeout", "ok"]}
    with FakeOpenAIServer(plan=plan, timeout_delay_s=2.0) as srv:
        engine = OpenAIEngine(srv.base_url, model=srv.model, timeout_s=0.5)
        ...
        assert srv.attempts("FAIL500") == 3

A mapping plan: the first key (in order) contained in a request's prompt gives that prompt's action list; its
n-th attempt (counted per exact prompt) takes the n-th action, the last one repeating; prompts no key matches are
answered ``ok``. A callable plan ``(prompt, attempt) -> action`` decides anything else.

Every answer is a function of its prompt alone (:func:`answer_for`), so a test can check that no answer was ever
attached to another prompt, whatever retries and concurrency did.
"""

from __future__ import annotations

import hashlib
import json
import socket
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Union

import pytest

HOST = "127.0.0.1"  # loopback only: a test server must never be reachable from outside the machine
API_PREFIX = "/v1"
DEFAULT_MODEL = "fake-teacher"
ANSWER_PREFIX = "answer:"
ANSWER_HEX_CHARS = 8
# "timeout" sleeps this long before answering; a client under test sets its timeout well below it
DEFAULT_TIMEOUT_DELAY_S = 5.0
POLL_INTERVAL_S = 0.05  # serve_forever's shutdown check: close() returns within this
LISTEN_BACKLOG = 128  # socketserver's default 5 makes a burst of concurrent clients wait a SYN retry (1 s)
JOIN_TIMEOUT_S = 5.0

OK = "ok"
HTTP_500 = "500"
HTTP_429 = "429"
TIMEOUT = "timeout"
DISCONNECT = "disconnect"
MALFORMED = "malformed"
ACTIONS = frozenset({OK, HTTP_500, HTTP_429, TIMEOUT, DISCONNECT, MALFORMED})
# what the server recorded for requests it refused before any plan applied
UNAUTHORIZED = "unauthorized"
BAD_REQUEST = "bad_request"
NOT_FOUND = "not_found"

MALFORMED_BODY = b'{"choices": [{"text": "cut off in the middle'  # a 200 with this body: not JSON
RETRY_AFTER_S = "0"  # the 429's Retry-After: a client that honours it retries at once

Plan = Union[Mapping[str, Sequence[str]], Callable[[str, int], str], None]


def answer_for(prompt: str) -> str:
    """The server's answer to ``prompt``: ``answer:`` + 8 hex of its sha1, so a test recomputes it per prompt."""
    return ANSWER_PREFIX + hashlib.sha1(prompt.encode("utf-8")).hexdigest()[:ANSWER_HEX_CHARS]


def n_tokens(text: str) -> int:
    """A token count for ``usage``: whitespace words (deterministic; no tokenizer needed)."""
    return len(text.split())


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the server saw it; ``attempt`` is 1-based per exact prompt (0: no prompt)."""

    method: str
    path: str
    prompt: str | None
    attempt: int
    action: str
    authorization: str | None
    headers: dict[str, str] = field(default_factory=dict)
    body: dict[str, Any] | None = None


def _check_plan(plan: Plan) -> None:
    if plan is None or callable(plan):
        return
    for key, actions in plan.items():
        if isinstance(actions, str) or not actions:
            raise ValueError(f"plan[{key!r}]: give a non-empty list of actions, e.g. ['500', 'ok']")
        bad = sorted(set(actions) - ACTIONS)
        if bad:
            raise ValueError(f"plan[{key!r}]: unknown actions {bad}; allowed: {sorted(ACTIONS)}")


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True  # a handler still sleeping in "timeout" never blocks interpreter exit
    request_queue_size = LISTEN_BACKLOG
    fake: FakeOpenAIServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hung up (its timeout, our own disconnect) is expected here, not an error."""
        import sys

        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    server: _HTTPServer
    protocol_version = "HTTP/1.1"  # Content-Length on every answer, as real servers send

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's signature
        """Silent: tests read :attr:`FakeOpenAIServer.requests`, and stderr stays the client's own."""

    # ------------------------------------------------------------------ sending
    def _send(self, status: int, payload: bytes, headers: Mapping[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)
        self.wfile.flush()

    def _send_json(self, status: int, obj: Any, headers: Mapping[str, str] | None = None) -> None:
        self._send(status, json.dumps(obj).encode("utf-8"), headers)

    def _send_error(
        self, status: HTTPStatus, message: str, kind: str, headers: Mapping[str, str] | None = None
    ) -> None:
        self._send_json(status, {"error": {"message": message, "type": kind, "code": int(status)}}, headers)

    def _record(self, prompt: str | None, action: str, body: dict[str, Any] | None, attempt: int = 0) -> None:
        self.server.fake._append(
            RecordedRequest(
                self.command,
                self.path,
                prompt,
                attempt,
                action,
                self.headers.get("Authorization"),
                dict(self.headers.items()),
                body,
            )
        )

    # ----------------------------------------------------------------- routing
    def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
        fake = self.server.fake
        if self.path.rstrip("/") != f"{API_PREFIX}/models":
            self._record(None, NOT_FOUND, None)
            self._send_error(HTTPStatus.NOT_FOUND, f"no route GET {self.path}", "not_found")
            return
        if not self._authorized(None, None):
            return
        self._record(None, OK, None)
        self._send_json(
            HTTPStatus.OK,
            {
                "object": "list",
                "data": [{"id": fake.model, "object": "model", "created": 0, "owned_by": "sentidistill-tests"}],
            },
        )

    def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        chat = self.path == f"{API_PREFIX}/chat/completions"
        if not chat and self.path != f"{API_PREFIX}/completions":
            self._record(None, NOT_FOUND, None)
            self._send_error(HTTPStatus.NOT_FOUND, f"no route POST {self.path}", "not_found")
            return
        try:
            body = json.loads(raw)
            prompt = _chat_prompt(body) if chat else body["prompt"]
            if not isinstance(prompt, str):
                raise TypeError("the fake server takes one prompt string per request")
        except (ValueError, KeyError, TypeError, IndexError) as exc:
            self._record(None, BAD_REQUEST, None)
            self._send_error(HTTPStatus.BAD_REQUEST, f"bad request: {exc}", "invalid_request_error")
            return
        if not self._authorized(prompt, body):
            return
        fake = self.server.fake
        if body.get("model") not in (None, fake.model):
            self._record(prompt, NOT_FOUND, body)
            self._send_error(HTTPStatus.NOT_FOUND, f"The model `{body.get('model')}` does not exist.", "not_found")
            return
        attempt, action = fake._next_action(prompt)
        self._record(prompt, action, body, attempt)
        try:
            self._act(action, prompt, chat)
        except ConnectionError:  # the client gave up first (its timeout): nothing left to send to
            self.close_connection = True

    def _authorized(self, prompt: str | None, body: dict[str, Any] | None) -> bool:
        key = self.server.fake.api_key
        if key is None or self.headers.get("Authorization") == f"Bearer {key}":
            return True
        self._record(prompt, UNAUTHORIZED, body)
        self._send_error(HTTPStatus.UNAUTHORIZED, "Incorrect API key provided.", "invalid_request_error")
        return False

    # ----------------------------------------------------------------- actions
    def _act(self, action: str, prompt: str, chat: bool) -> None:
        fake = self.server.fake
        if action == HTTP_500:
            self._send_error(HTTPStatus.INTERNAL_SERVER_ERROR, "injected server error", "server_error")
        elif action == HTTP_429:
            self._send_error(
                HTTPStatus.TOO_MANY_REQUESTS,
                "injected rate limit",
                "rate_limit_exceeded",
                {"Retry-After": RETRY_AFTER_S},
            )
        elif action == MALFORMED:
            self._send(HTTPStatus.OK, MALFORMED_BODY)
        elif action == DISCONNECT:
            payload = json.dumps(fake.completion(prompt, chat)).encode("utf-8")
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))  # promises the whole body ...
            self.end_headers()
            self.wfile.write(payload[: len(payload) // 2])  # ... sends half, then hangs up
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
            self.close_connection = True
        elif action == TIMEOUT:
            if fake._closing.wait(fake.timeout_delay_s):  # server closing: drop the request
                self.close_connection = True
                return
            self._send_json(HTTPStatus.OK, fake.completion(prompt, chat))
        else:
            self._send_json(HTTPStatus.OK, fake.completion(prompt, chat))


def _chat_prompt(body: dict[str, Any]) -> str:
    """The last user message's content: what the answer (and the plan) is keyed on in chat mode."""
    users = [m for m in body["messages"] if m.get("role") == "user"]
    return users[-1]["content"]


class FakeOpenAIServer:
    """A loopback OpenAI-compatible server in a daemon thread; a context manager (``with ... as srv``)."""

    def __init__(
        self,
        plan: Plan = None,
        *,
        model: str = DEFAULT_MODEL,
        timeout_delay_s: float = DEFAULT_TIMEOUT_DELAY_S,
        api_key: str | None = None,
        answer: Callable[[str], str] = answer_for,
    ) -> None:
        """``api_key``: when set, requests without ``Authorization: Bearer <api_key>`` get a 401."""
        self.model = model
        self.timeout_delay_s = timeout_delay_s
        self.api_key = api_key
        self.answer = answer
        self._lock = threading.Lock()
        self._requests: list[RecordedRequest] = []
        self._attempts: Counter[str] = Counter()
        self._closing = threading.Event()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.set_plan(plan)

    # ------------------------------------------------------------------ plan
    def set_plan(self, plan: Plan) -> None:
        """Replace the plan (attempt counts carry on; :meth:`reset` clears them)."""
        _check_plan(plan)
        self._plan = plan

    def decide(self, prompt: str, attempt: int) -> str:
        """The action for the ``attempt``-th (1-based) request of ``prompt``."""
        plan = self._plan
        if plan is None:
            return OK
        if callable(plan):
            action = plan(prompt, attempt)
            if action not in ACTIONS:
                raise ValueError(f"plan returned unknown action {action!r}; allowed: {sorted(ACTIONS)}")
            return action
        for key, actions in plan.items():
            if key in prompt:
                return actions[min(attempt, len(actions)) - 1]
        return OK

    def _next_action(self, prompt: str) -> tuple[int, str]:
        with self._lock:
            self._attempts[prompt] += 1
            attempt = self._attempts[prompt]
        return attempt, self.decide(prompt, attempt)

    def _append(self, record: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(record)

    # ---------------------------------------------------------------- answers
    def completion(self, prompt: str, chat: bool) -> dict[str, Any]:
        """The OpenAI-format body of a successful answer to ``prompt``."""
        text = self.answer(prompt)
        usage = {"prompt_tokens": n_tokens(prompt), "completion_tokens": n_tokens(text)}
        usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
        if chat:
            choice: dict[str, Any] = {
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "finish_reason": "stop",
            }
            kind = "chat.completion"
        else:
            choice = {"index": 0, "text": text, "logprobs": None, "finish_reason": "stop"}
            kind = "text_completion"
        return {
            "id": f"fake-{hashlib.sha1(prompt.encode()).hexdigest()[:12]}",
            "object": kind,
            "created": 0,
            "model": self.model,
            "choices": [choice],
            "usage": usage,
        }

    # ------------------------------------------------------------- inspection
    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request so far, in arrival order (a copy: safe to read while requests run)."""
        with self._lock:
            return list(self._requests)

    def attempts(self, substring: str = "") -> int:
        """How many completion requests had a prompt containing ``substring`` ('' = all of them)."""
        return sum(1 for r in self.requests if r.prompt is not None and r.attempt and substring in r.prompt)

    def attempts_by_prompt(self) -> dict[str, int]:
        """Completion requests per exact prompt."""
        with self._lock:
            return dict(self._attempts)

    def reset(self) -> None:
        """Forget recorded requests and attempt counts (the plan starts over for every prompt)."""
        with self._lock:
            self._requests.clear()
            self._attempts.clear()

    # -------------------------------------------------------------- lifecycle
    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("the server is not started: use `with FakeOpenAIServer(...) as srv`")
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}{API_PREFIX}"

    def start(self) -> FakeOpenAIServer:
        if self._httpd is not None:
            return self
        self._closing.clear()
        httpd = _HTTPServer((HOST, 0), _Handler)  # port 0: the OS picks a free ephemeral port
        httpd.fake = self
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever,
            kwargs={"poll_interval": POLL_INTERVAL_S},
            name=f"fake-openai-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop serving; handlers sleeping in ``timeout`` wake and drop their request."""
        if self._httpd is None:
            return
        self._closing.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(JOIN_TIMEOUT_S)
        self._httpd, self._thread = None, None

    def __enter__(self) -> FakeOpenAIServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


@pytest.fixture
def fake_openai_server() -> Iterator[FakeOpenAIServer]:
    """A started server answering everything ``ok`` (``srv.set_plan(...)`` injects faults); closed after the test.

    Import it into a test module or conftest: ``from tests.support.openai_server import fake_openai_server``.
    """
    with FakeOpenAIServer() as srv:
        yield srv
