"""The fault-injecting OpenAI-compatible test server, checked with plain urllib: each action does what a client
test relies on (so a client test that fails points at the client, not at the server)."""

from __future__ import annotations

import http.client
import json
import threading
import time
import urllib.error
import urllib.request
from typing import Any

import pytest

from tests.support.openai_server import (
    ACTIONS,
    DEFAULT_MODEL,
    HOST,
    MALFORMED_BODY,
    FakeOpenAIServer,
    answer_for,
    fake_openai_server,  # noqa: F401 - the fixture under test
)

CLIENT_TIMEOUT_S = 0.3
SERVER_DELAY_S = 2.0  # "timeout" sleeps this long: well past CLIENT_TIMEOUT_S
CLOSE_BUDGET_S = 1.0  # close() must not wait for a sleeping "timeout" handler
N_CONCURRENT = 24


def post(url: str, body: dict[str, Any], *, key: str | None = None, timeout: float = 5.0) -> tuple[int, dict, Any]:
    """(status, headers, parsed JSON body) of a POST; HTTP errors are returned, not raised."""
    headers = {"Content-Type": "application/json"} | ({"Authorization": f"Bearer {key}"} if key else {})
    req = urllib.request.Request(url, data=json.dumps(body).encode(), headers=headers, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, dict(resp.headers), json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), json.loads(exc.read())


def complete(srv: FakeOpenAIServer, prompt: str, **kw: Any) -> tuple[int, dict, Any]:
    return post(f"{srv.base_url}/completions", {"model": srv.model, "prompt": prompt, "max_tokens": 4}, **kw)


def test_models_and_loopback_only(fake_openai_server):
    srv = fake_openai_server
    assert srv.base_url == f"http://{HOST}:{srv.port}/v1" and HOST == "127.0.0.1"
    with urllib.request.urlopen(f"{srv.base_url}/models", timeout=5) as resp:
        data = json.loads(resp.read())
    assert [m["id"] for m in data["data"]] == [DEFAULT_MODEL]


def test_ok_completion_is_a_function_of_the_prompt(fake_openai_server):
    status, _, out = complete(fake_openai_server, "a b c")
    choice = out["choices"][0]
    assert status == 200 and choice["text"] == answer_for("a b c") and choice["finish_reason"] == "stop"
    assert out["usage"] == {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4}
    assert answer_for("a b c") != answer_for("a b d")


def test_ok_chat_completion_answers_the_last_user_message(fake_openai_server):
    body = {
        "model": DEFAULT_MODEL,
        "messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hello"}],
    }
    status, _, out = post(f"{fake_openai_server.base_url}/chat/completions", body)
    assert status == 200 and out["choices"][0]["message"]["content"] == answer_for("hello")
    assert out["choices"][0]["finish_reason"] == "stop" and fake_openai_server.requests[-1].prompt == "hello"


def test_500_then_ok_and_the_last_action_repeats():
    with FakeOpenAIServer(plan={"FAIL500": ["500", "500", "ok"], "ALWAYS": ["500"]}) as srv:
        codes = [complete(srv, "x FAIL500")[0] for _ in range(4)]
        assert codes == [500, 500, 200, 200]
        status, _, err = complete(srv, "ALWAYS")
        assert status == 500 and err["error"]["type"] == "server_error"
        assert [complete(srv, "ALWAYS")[0] for _ in range(3)] == [500] * 3
        assert srv.attempts("FAIL500") == 4 and srv.attempts("ALWAYS") == 4
        assert complete(srv, "unplanned")[0] == 200
        assert [r.attempt for r in srv.requests if r.prompt == "x FAIL500"] == [1, 2, 3, 4]


def test_429_has_retry_after_zero():
    with FakeOpenAIServer(plan={"RATE": ["429", "ok"]}) as srv:
        status, headers, err = complete(srv, "RATE 1")
        assert status == 429 and headers["Retry-After"] == "0" and err["error"]["type"] == "rate_limit_exceeded"
        assert complete(srv, "RATE 1")[0] == 200
        assert complete(srv, "RATE 2")[0] == 429  # attempts count per exact prompt


def test_timeout_trips_the_client_then_answers():
    with FakeOpenAIServer(plan={"SLOW": ["timeout", "ok"]}, timeout_delay_s=SERVER_DELAY_S) as srv:
        t0 = time.perf_counter()
        with pytest.raises(TimeoutError):
            complete(srv, "SLOW", timeout=CLIENT_TIMEOUT_S)
        assert time.perf_counter() - t0 < SERVER_DELAY_S
        status, _, out = complete(srv, "SLOW", timeout=CLIENT_TIMEOUT_S)
        assert status == 200 and out["choices"][0]["text"] == answer_for("SLOW")
        assert [r.action for r in srv.requests] == ["timeout", "ok"]


def test_close_does_not_wait_for_a_sleeping_timeout():
    srv = FakeOpenAIServer(plan={"SLOW": ["timeout"]}, timeout_delay_s=60.0).start()
    caller = threading.Thread(target=lambda: pytest.raises(Exception, complete, srv, "SLOW", timeout=30), daemon=True)
    caller.start()
    while not srv.requests:
        time.sleep(0.01)
    t0 = time.perf_counter()
    srv.close()
    assert time.perf_counter() - t0 < CLOSE_BUDGET_S
    caller.join(CLOSE_BUDGET_S)


def test_disconnect_sends_half_the_promised_body():
    with FakeOpenAIServer(plan={"CUT": ["disconnect", "ok"]}) as srv:
        req = urllib.request.Request(
            f"{srv.base_url}/completions", method="POST", data=json.dumps({"prompt": "CUT"}).encode()
        )
        with urllib.request.urlopen(req, timeout=5) as resp:
            promised = int(resp.headers["Content-Length"])
            with pytest.raises(http.client.IncompleteRead) as info:
                resp.read()
        assert 0 < len(info.value.partial) < promised
        assert complete(srv, "CUT")[0] == 200


def test_malformed_is_a_200_that_is_not_json():
    with FakeOpenAIServer(plan={"BAD": ["malformed", "ok"]}) as srv:
        req = urllib.request.Request(
            f"{srv.base_url}/completions", method="POST", data=json.dumps({"prompt": "BAD"}).encode()
        )
        with urllib.request.urlopen(req, timeout=5) as resp:
            assert resp.status == 200 and resp.read() == MALFORMED_BODY
        with pytest.raises(json.JSONDecodeError):
            json.loads(MALFORMED_BODY)
        assert complete(srv, "BAD")[0] == 200


def test_records_the_authorization_header_and_enforces_a_key():
    with FakeOpenAIServer(api_key="sk-test") as srv:
        assert complete(srv, "p", key="sk-test")[0] == 200
        status, _, err = complete(srv, "p", key="sk-wrong")
        assert status == 401 and "API key" in err["error"]["message"]
        assert complete(srv, "p")[0] == 401
        assert [r.authorization for r in srv.requests] == ["Bearer sk-test", "Bearer sk-wrong", None]
        assert [r.action for r in srv.requests] == ["ok", "unauthorized", "unauthorized"]


def test_unknown_model_route_and_bad_body_are_refused(fake_openai_server):
    srv = fake_openai_server
    assert post(f"{srv.base_url}/completions", {"model": "other", "prompt": "p"})[0] == 404
    assert post(f"{srv.base_url}/embeddings", {"input": "p"})[0] == 404
    assert post(f"{srv.base_url}/completions", {"prompt": ["a", "b"]})[0] == 400
    assert srv.attempts() == 0  # none of them reached the plan


def test_callable_plan_and_plan_validation():
    with FakeOpenAIServer(plan=lambda prompt, attempt: "500" if attempt == 1 else "ok") as srv:
        assert [complete(srv, "q")[0] for _ in range(2)] == [500, 200]
    with pytest.raises(ValueError, match="unknown actions"):
        FakeOpenAIServer(plan={"X": ["explode"]})
    with pytest.raises(ValueError, match="non-empty list"):
        FakeOpenAIServer(plan={"X": "500"})
    assert ACTIONS == {"ok", "500", "429", "timeout", "disconnect", "malformed"}


def test_concurrent_requests_get_their_own_answers():
    plan = {"odd": ["500", "ok"]}
    with FakeOpenAIServer(plan=plan) as srv:
        prompts = [f"prompt {i} {'odd' if i % 2 else 'even'}" for i in range(N_CONCURRENT)]
        results: dict[str, tuple[int, Any]] = {}

        def call(p: str) -> None:
            status, _, out = complete(srv, p)
            results[p] = (status, out)

        threads = [threading.Thread(target=call, args=(p,)) for p in prompts]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for p in prompts:
            status, out = results[p]
            if "odd" in p:
                assert status == 500
            else:
                assert status == 200 and out["choices"][0]["text"] == answer_for(p)
        assert len(srv.requests) == N_CONCURRENT and set(srv.attempts_by_prompt().values()) == {1}
