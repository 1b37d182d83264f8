"""The distillation corpora as one Hugging Face dataset folder with a dataset card.

``data/export/sentidistill-corpora/`` holds one config per corpus (``knowdist``, ``icldist``,
``classifier_labels``), each a ``train`` split in parquet, and a ``README.md`` whose front
matter follows the hub's dataset-card spec (``configs`` with ``data_files``, so
``datasets.load_dataset(folder, "icldist")`` reads it as it would read a hub dataset). Every
row the teacher answered is there, the excluded ones too (``keep`` false, ``exclude_reason``
says why): the card's accounting adds up to the rows of each file.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import polars as pl
from pydantic import Field

from sentidistill.io import atomic_folder, read_json, read_parquet, write_parquet, write_text
from sentidistill.models.card import front_matter
from sentidistill.params import StrictModel

SPLIT_FILE = "train.parquet"


class SourceLicense(StrictModel):
    """Where a corpus source comes from and on what terms (docs/data.md)."""

    description: str
    hub_id: str | None = None
    license: str


class DatasetExportParams(StrictModel):
    """``export.datasets`` in params.yaml."""

    name: str = "sentidistill-corpora"
    language: list[str] = Field(default_factory=lambda: ["en"])
    sources: dict[str, SourceLicense] = Field(default_factory=dict)


def _size_category(n: int) -> str:
    for limit, name in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M")):
        if n < limit:
            return name
    return "n>1M"


def _accounting_rows(name: str, df: pl.DataFrame) -> list[str]:
    """``| corpus | rows | kept | excluded (reason: n) |`` from the file itself."""
    kept = int(df["keep"].sum()) if "keep" in df.columns else df.height
    if "exclude_reason" in df.columns:
        reasons = (
            df.filter(pl.col("exclude_reason").is_not_null()).group_by("exclude_reason").len().sort("exclude_reason")
        )
        excluded = ", ".join(f"{r['exclude_reason']}: {r['len']}" for r in reasons.to_dicts()) or "none"
    elif "label" in df.columns:  # classifier labels: an unparsed answer has no label
        failed = df.filter(pl.col("label").is_null())
        kept = df.height - failed.height
        by = failed.group_by("parse_error").len().sort("parse_error").to_dicts() if failed.height else []
        excluded = ", ".join(f"{r['parse_error']}: {r['len']}" for r in by) or "none"
    else:
        excluded = "none"
    return [f"| `{name}` | {df.height} | {kept} | {excluded} |"]


def dataset_card(
    tables: Mapping[str, pl.DataFrame],
    params: DatasetExportParams,
    *,
    teacher: str | None,
    corpus_stats: Mapping[str, Any],
    ingest_stats: Mapping[str, Any],
    git_revision: str,
) -> str:
    total_rows = sum(df.height for df in tables.values())
    meta = {
        "pretty_name": "sentidistill distillation corpora",
        "language": params.language,
        "license": "other",
        "license_name": "mixed-sources",
        "license_details": "Each source keeps its own terms (table below); the teacher's answers follow the teacher's license.",
        "task_categories": ["text-classification", "text-generation"],
        "tags": ["sentiment-analysis", "distillation", "synthetic", "sentidistill"],
        "size_categories": [_size_category(total_rows)],
        "source_datasets": sorted({s.hub_id for s in params.sources.values() if s.hub_id}),
        "configs": [
            {"config_name": name, "data_files": [{"split": "train", "path": f"{name}/{SPLIT_FILE}"}]} for name in tables
        ],
    }
    total = corpus_stats.get("total") or {}
    pools = corpus_stats.get("pools") or {}
    rejected = {k: v for k, v in (ingest_stats.get("rejected_by_reason") or {}).items() if v}
    lines = [
        front_matter(meta).rstrip("\n"),
        f"# {params.name}",
        "",
        "Teacher answers the sentidistill pipeline distills into its students (Zhang et al., *Targeted Distillation "
        f"for Sentiment Analysis*, EMNLP 2025): teacher `{teacher}`, code revision `{git_revision}`.",
        "",
        "```python",
        "from datasets import load_dataset",
        f'icl = load_dataset("data/export/{params.name}", "icldist", split="train")',
        "```",
        "",
        "## Configs",
        "",
        "- `knowdist`: the teacher analyses and rewrites corpus texts under the paper's five prompt perspectives "
        "(KnowDist, Section 3.1); `user_message` -> `response`.",
        "- `icldist`: few-shot sentiment/emotion prompts diversified in label words, taxonomies and instructions, plus "
        "Super-NaturalInstructions tasks (ICLDist, Section 3.2); `prompt` -> `response` (`parsed`: the labels read).",
        "- `classifier_labels`: the teacher's one-sentence rationale + polarity label per corpus text, for the "
        "encoder student (`text` -> `label`).",
        "",
        "## Accounting",
        "",
        "Every row the teacher answered is kept in the files; `keep` says whether training used it and "
        "`exclude_reason` / `parse_error` why not.",
        "",
        "| config | rows | used for training | excluded (reason: rows) |",
        "|---|---|---|---|",
        *[row for name, df in tables.items() for row in _accounting_rows(name, df)],
        "",
        "The texts come from the pipeline's cleaned corpus: "
        + (
            f"{total.get('raw', '?'):,} raw texts, {total.get('rejected', 0):,} rejected at ingest "
            f"({', '.join(f'{k}: {v}' for k, v in rejected.items()) or 'none'}), {total.get('exact_duplicates', 0):,} exact and "
            f"{total.get('near_duplicates', 0):,} near duplicates removed (MinHash), {total.get('contaminated', 0):,} removed "
            f"as overlapping SentiBench, {total.get('kept', 0):,} kept"
            if total
            else "accounting not found"
        )
        + (
            f"; the KnowDist pool drew {pools.get('knowdist', {}).get('total')} and the ICLDist pool "
            f"{pools.get('icldist', {}).get('total')} of them (seeded, balanced per domain)."
            if pools
            else "."
        ),
        "",
        "## Sources and licenses",
        "",
        "| source | what | hub id | license |",
        "|---|---|---|---|",
        *[f"| `{k}` | {s.description} | {s.hub_id or '–'} | {s.license} |" for k, s in params.sources.items()],
        "",
        "Research use. No SentiBench test, dev or train text is in these rows (decontamination, see the pipeline's "
        "docs/corpus.md).",
        "",
    ]
    return "\n".join(lines)


def export_corpora(
    sources: Mapping[str, Path],
    out_dir: Path,
    params: DatasetExportParams,
    *,
    teacher: str | None,
    stats_dir: Path,
    git_revision: str,
    schemas: Mapping[str, Any] | None = None,
) -> dict[str, int]:
    """Copy each corpus (validated by its schema) into ``out_dir/<name>/train.parquet`` + the card."""
    tables = {name: read_parquet(p, (schemas or {}).get(name)) for name, p in sources.items()}
    card = dataset_card(
        tables,
        params,
        teacher=teacher,
        corpus_stats=read_json(stats_dir / "corpus.json", default={}),
        ingest_stats=read_json(stats_dir / "corpus_ingest.json", default={}),
        git_revision=git_revision,
    )
    with atomic_folder(out_dir) as tmp:
        for name, df in tables.items():
            (tmp / name).mkdir()
            write_parquet(df, tmp / name / SPLIT_FILE)
        write_text(tmp / "README.md", card)
    return {name: df.height for name, df in tables.items()}
