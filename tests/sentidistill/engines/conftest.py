"""A real OpenAI-compatible server on 127.0.0.1: llama-cpp-python's ``llama_cpp.server``
(the ``server`` extra) serving the SmolLM2 GGUF."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def openai_server(tmp_path_factory):
    pytest.importorskip("uvicorn", reason="needs the server extra: pip install -e '.[server]'")
    pytest.importorskip("llama_cpp")
    from sentidistill.engines.llamacpp_server import llamacpp_server
    from sentidistill.models.store import model_paths

    gguf = model_paths("smollm2-135m-instruct").gguf_path
    log = tmp_path_factory.mktemp("server") / "server.log"
    with llamacpp_server(gguf, threads=1, n_ctx=2048, alias="smollm2", log_path=log, start_timeout_s=120) as base:
        yield base
