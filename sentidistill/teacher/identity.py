"""What determines a teacher answer, and the cache key built from it.

``key = sha256(canonical JSON of {teacher identity, sampling parameters, full prompt})``.

The identity names the model *and its weights* (the sha256 of the GGUF in the model's
manifest, from which the safetensors folder is converted), the backend and its numeric
type -- never a file path, so two machines with the same weights share keys. Engine
settings that do not change the answer (threads, batch sizes, actor counts) stay out.
Changing the model, weights, backend, dtype, any sampling parameter or one character of
the prompt (including the chat template around it) gives a new key.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from sentidistill.models.folder import files_digest as _files_digest  # models without a GGUF sha
from sentidistill.teacher.config import SamplingParams, TeacherParams

KEY_VERSION = 1


def locate_teacher(teacher: TeacherParams, models_dir: Any = None) -> Any:
    """The teacher's materialized model folder (:class:`sentidistill.models.store.ModelPaths`), or
    None for an OpenAI-served model the registry does not know (the server holds the weights)."""
    try:
        from sentidistill.models.store import model_paths

        return model_paths(teacher.model) if models_dir is None else model_paths(teacher.model, models_dir)
    except Exception:
        if teacher.engine.backend != "openai":
            raise
        return None


def identity_of(teacher: TeacherParams, paths: Any) -> dict[str, Any]:
    """Identity of the configured teacher whose model folder is ``paths`` (:func:`locate_teacher`)."""
    eng = teacher.engine
    ident: dict[str, Any] = {"backend": eng.backend}
    if paths is not None:
        ident["model"] = paths.name
        ident["weights_sha256"] = paths.manifest.get("gguf_sha256") or _files_digest(paths.manifest)
        hf_dtype = paths.manifest.get("dtype")
    else:
        ident["model"] = teacher.model
        ident["weights_sha256"] = None
        hf_dtype = None
    if eng.backend in ("transformers", "vllm"):
        ident["dtype"] = eng.dtype
        ident["hf_dtype"] = hf_dtype
    if eng.backend == "openai":
        ident["served_model"] = eng.openai.model
        ident["server_chat_template"] = eng.openai.chat
    return ident


def teacher_identity(teacher: TeacherParams, models_dir: Any = None) -> dict[str, Any]:
    """Identity of the configured teacher (reads ``models/<name>/manifest.json`` when the
    model is materialized; an OpenAI-served model unknown to the registry keeps its name).
    A stage resolves it once, with its chat template: :func:`sentidistill.teacher.resolve.resolve_teacher`."""
    return identity_of(teacher, locate_teacher(teacher, models_dir))


def identity_label(ident: dict[str, Any]) -> str:
    """Short readable engine tag for output rows: ``llamacpp:qwen2.5-coder-1.5b-instruct@cc324af070c2``."""
    sha = (ident.get("weights_sha256") or "unknown")[:12]
    return f"{ident['backend']}:{ident['model']}@{sha}"


def sampling_dict(s: SamplingParams) -> dict[str, Any]:
    return {
        "max_new_tokens": s.max_new_tokens,
        "temperature": s.temperature,
        "top_p": s.top_p if s.temperature > 0 else 1.0,
        "seed": s.seed if s.temperature > 0 else 0,
        "stop": list(s.stop),
    }


def cache_key(identity: dict[str, Any], sampling: SamplingParams | dict[str, Any], prompt: str) -> str:
    """sha256 hex of the canonical JSON of everything that determines the answer.

    Greedy decoding ignores ``top_p`` and ``seed``, so they are normalized out of greedy keys.
    """
    samp = sampling_dict(sampling) if isinstance(sampling, SamplingParams) else sampling
    payload = {"v": KEY_VERSION, "teacher": identity, "sampling": samp, "prompt": prompt}
    blob = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def row_seed(key: str) -> int:
    """Per-row sampling seed derived from the key (reproducible in any order, on resume)."""
    return int(key[:8], 16)
