"""Export the final student with its SentiBench table in the model card.

``models/student-icldist`` is the ``train_icldist`` output, so the evaluation cannot write
into it; ``export_student`` copies it to ``models/sentidistill-student/`` (same layout:
``hf/`` + ``manifest.json``) with ``hf/README.md`` carrying the Table-2-style comparison
(base student, stage 1, final student, teacher; deltas vs the baseline).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping

from sentidistill.training.sft import HF_DIR, MANIFEST, copy_model_folder, model_card


def sentibench_section(results: Mapping[str, Mapping[str, Any]], baseline: str | None) -> str:
    from sentidistill.sentibench.report import table2_markdown

    if not results:
        return "No SentiBench results found (run `dvc repro sentibench_report`)."
    first = next(iter(results.values()))
    n = {k: v.get("n_examples") for k, v in (first.get("datasets") or {}).items()}
    seeds = {v.get("n_seeds") for v in (first.get("datasets") or {}).values()}
    return (
        f"In-context F1 (%) on SentiBench, deltas vs `{baseline}` in parentheses "
        f"(test examples per dataset: {n}; seeds: {sorted(s for s in seeds if s)}).\n\n"
        + table2_markdown(results, baseline=baseline)
    )


def load_results(metrics_dir: Path, entries: list[str]) -> dict[str, dict[str, Any]]:
    out = {}
    for e in entries:
        p = metrics_dir / f"{e}.json"
        if p.is_file():
            d = json.loads(p.read_text(encoding="utf-8"))
            out[e] = d
    return out


def export_student(src_root: Path, out_root: Path, results: Mapping[str, Mapping[str, Any]],
                   baseline: str | None) -> dict[str, Any]:
    manifest = json.loads((src_root / MANIFEST).read_text(encoding="utf-8"))
    manifest = {k: v for k, v in manifest.items() if k not in ("files", "hf_dir", "gguf")}
    manifest.update(name=out_root.name, exported_from=src_root.name, sentibench={
        k: {"avg": v.get("avg"), "categories": v.get("categories")} for k, v in results.items()})
    section = sentibench_section(results, baseline)
    # the card with the SentiBench section is written before the swap: a kill never leaves a half card
    copy_model_folder(src_root / HF_DIR, out_root, manifest, card=model_card(manifest, section))
    return manifest
