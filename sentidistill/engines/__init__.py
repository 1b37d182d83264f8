"""Engine selection: ``params.yaml`` names a backend, this module builds it.

Backends import their heavy dependencies lazily, so a CPU machine without vLLM
(or without llama-cpp-python) can still use the others.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from sentidistill.engines.base import Engine, Generation, GenerationParams, StopWhen
from sentidistill.log import get_logger
from sentidistill.params import StrictModel

log = get_logger(__name__)

Backend = Literal["transformers", "llamacpp", "vllm", "openai"]


class OpenAIConfig(StrictModel):
    """An OpenAI-compatible server (vLLM serve, llama.cpp server, Ollama, a hosted API)."""

    base_url: str = "http://127.0.0.1:8000/v1"
    api_key_env: str | None = Field(default="OPENAI_API_KEY", description="env var holding the key; unset = none")
    model: str | None = Field(default=None, description="served model name; null = the first of /v1/models")
    timeout_s: float = Field(default=600.0, gt=0, description="per request; a slower answer is retried")
    retries: int = Field(default=4, ge=0, description="retries of a failed request (5xx, 429, timeout, cut, bad JSON)")
    backoff_s: float = Field(default=0.5, ge=0, description="wait before retry n: backoff_s * 2^n (or Retry-After)")
    max_concurrency: int = Field(default=4, ge=1, description="requests in flight at once")
    chat: bool = Field(default=False, description="true: /v1/chat/completions (the server applies the chat template)")


class EngineConfig(StrictModel):
    """How to run a model. One group per use (evaluation, teacher generation)."""

    backend: Backend = "transformers"
    # transformers / vllm
    # auto: bfloat16 where the CPU/GPU computes it natively, else float32 (sentidistill.precision)
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = "float32"
    threads: int | None = Field(default=None, ge=1, description="CPU threads; null = all cores")
    max_batch_tokens: int = Field(default=4096, ge=1, description="padded tokens per forward batch")
    max_batch_size: int = Field(default=32, ge=1)
    share_prefix: bool = True
    # llama.cpp
    n_ctx: int = Field(default=8192, ge=256)
    n_batch: int = Field(default=512, ge=1)
    n_parallel: int = Field(default=1, ge=1, description="sequences decoded together (greedy generate)")
    # vllm
    tensor_parallel_size: int = Field(default=1, ge=1)
    gpu_memory_utilization: float = Field(default=0.9, gt=0, le=1)
    # openai (any OpenAI-compatible server)
    openai: OpenAIConfig = OpenAIConfig()


def resolved_dtype() -> str:
    """``dtype: auto`` on this machine: the torch dtype name of ``resolve_precision('auto')``."""
    from sentidistill.precision import resolve_precision

    choice = resolve_precision("auto")
    log.info("engine dtype auto -> %s (%s)", choice.used, choice.reason)
    return {"bf16": "bfloat16", "fp16": "float16", "fp32": "float32"}[choice.used]


def load_engine(model: str | Path, config: EngineConfig) -> Engine:
    """Build an engine for a registry name, role, HF folder or GGUF file.

    Registry names and roles resolve to the folder materialized under ``models/``
    by the ``prepare_models`` stage; any other path is used as it is.
    """
    if config.backend == "openai":
        hf_dir, gguf = None, None  # the server holds the weights
    else:
        hf_dir, gguf = _locate(model)
    if config.dtype == "auto" and config.backend in ("transformers", "vllm"):
        config = config.model_copy(update={"dtype": resolved_dtype()})
    if config.backend == "transformers":
        from sentidistill.engines.transformers_engine import TransformersEngine

        if hf_dir is None:
            raise ValueError(f"{model}: the transformers engine needs an HF folder, found only {gguf}")
        return TransformersEngine(
            hf_dir,
            dtype=config.dtype,
            threads=config.threads,
            max_batch_tokens=config.max_batch_tokens,
            max_batch_size=config.max_batch_size,
            share_prefix=config.share_prefix,
        )
    if config.backend == "llamacpp":
        from sentidistill.engines.llamacpp_engine import LlamaCppEngine

        if gguf is None:
            raise ValueError(
                f"{model}: the llamacpp engine needs a GGUF file; this model has none "
                "(use backend: transformers, or point the registry at a .gguf)"
            )
        if config.n_parallel > 1:
            from sentidistill.engines.llamacpp_batched import LlamaCppBatchedEngine

            return LlamaCppBatchedEngine(
                gguf, n_ctx=config.n_ctx, threads=config.threads, n_batch=config.n_batch, n_parallel=config.n_parallel
            )
        return LlamaCppEngine(gguf, n_ctx=config.n_ctx, threads=config.threads, n_batch=config.n_batch)
    if config.backend == "vllm":
        from sentidistill.engines.vllm_engine import VLLMEngine

        return VLLMEngine(
            hf_dir or model,
            tensor_parallel_size=config.tensor_parallel_size,
            dtype=config.dtype,
            gpu_memory_utilization=config.gpu_memory_utilization,
        )
    if config.backend == "openai":
        from sentidistill.engines.openai_engine import OpenAIEngine

        o = config.openai
        return OpenAIEngine(
            o.base_url,
            model=o.model,
            api_key_env=o.api_key_env,
            timeout_s=o.timeout_s,
            max_concurrency=o.max_concurrency,
            chat=o.chat,
            retries=o.retries,
            backoff_s=o.backoff_s,
        )
    raise ValueError(f"unknown backend {config.backend!r}")  # pragma: no cover - pydantic guards this


def _locate(model: str | Path) -> tuple[Path | None, Path | None]:
    p = Path(model)
    if p.suffix == ".gguf" and p.exists():
        return None, p
    if p.is_dir() and (p / "config.json").exists():
        return p, None
    if p.is_dir() and (p / "hf" / "config.json").exists():
        gguf = p / "model.gguf"
        return p / "hf", gguf if gguf.exists() else None
    from sentidistill.models.store import model_paths

    paths = model_paths(str(model))
    return paths.hf_dir, paths.gguf_path


__all__ = ["Engine", "EngineConfig", "OpenAIConfig", "Generation", "GenerationParams", "StopWhen", "load_engine"]
