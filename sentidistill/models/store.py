"""Find a materialized model under ``models/<name>/`` (what later stages load)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sentidistill.models.folder import HF_DIR, MANIFEST, load_manifest
from sentidistill.models.registry import ModelsConfig, UnknownModelError, resolve
from sentidistill.paths import MODELS


class ModelNotMaterializedError(FileNotFoundError):
    """``models/<name>/`` is missing or incomplete: the message says which command builds it."""


@dataclass(frozen=True)
class ModelPaths:
    name: str
    root: Path
    hf_dir: Path  # load with AutoModelForCausalLM/AutoTokenizer.from_pretrained(hf_dir)
    gguf_path: Path | None  # for llama.cpp; None for hf/local-folder sources
    manifest: dict[str, Any]


def model_paths(name_or_role: str, models_dir: str | Path = MODELS, config: ModelsConfig | None = None) -> ModelPaths:
    """Paths of a materialized model; accepts a registry name, a role, an HF id or a local path,
    or the name of a folder ``models_dir/<name>/`` with a manifest that is not in the registry
    (a model built by the pipeline, e.g. ``student-icldist`` from the ``train_icldist`` stage)."""
    try:
        name = resolve(name_or_role, config).name
    except UnknownModelError:
        if "/" in name_or_role or not (Path(models_dir) / name_or_role / MANIFEST).is_file():
            raise
        name = name_or_role
    root = Path(models_dir) / name
    manifest_path = root / MANIFEST
    hint = f"run `dvc repro prepare_models@{name}` (or `python -m sentidistill.stages.prepare_models {name}`)"
    if not manifest_path.is_file():
        raise ModelNotMaterializedError(f"model {name!r} is not materialized at {root}: {hint}")
    manifest = load_manifest(root)
    hf_dir = root / manifest.get("hf_dir", HF_DIR)
    gguf = root / manifest["gguf"] if manifest.get("gguf") else None
    missing = [p for p in (hf_dir / "config.json", gguf) if p is not None and not p.is_file()]
    if missing:
        raise ModelNotMaterializedError(
            f"model {name!r} at {root} is incomplete ({', '.join(map(str, missing))} missing): {hint}"
        )
    return ModelPaths(name=name, root=root, hf_dir=hf_dir, gguf_path=gguf, manifest=manifest)
