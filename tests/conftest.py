"""Shared fixtures: the tiny real student model (SmolLM2-135M) the model-loading tests use.

`make test` materializes it with the production stage (`python -m sentidistill.stages.prepare_models
smollm2-135m-instruct`) before pytest starts; these fixtures load it once per session.
"""

from __future__ import annotations

import pytest

TINY_MODEL = "smollm2-135m-instruct"


@pytest.fixture(scope="session")
def tiny_model_paths():
    from sentidistill.models.store import ModelNotMaterializedError, model_paths

    try:
        return model_paths(TINY_MODEL)
    except ModelNotMaterializedError as exc:  # pragma: no cover - depends on the checkout
        pytest.fail(f"{exc} (make test does this for you)")


@pytest.fixture(scope="session")
def tiny_hf_engine(tiny_model_paths):
    from sentidistill.engines import EngineConfig, load_engine

    return load_engine(tiny_model_paths.hf_dir, EngineConfig(backend="transformers", dtype="float32"))


@pytest.fixture(scope="session")
def tiny_llamacpp_engine(tiny_model_paths):
    pytest.importorskip("llama_cpp")
    from sentidistill.engines import EngineConfig, load_engine

    engine = load_engine(tiny_model_paths.gguf_path, EngineConfig(backend="llamacpp", threads=2, n_ctx=4096))
    yield engine
    engine.close()
