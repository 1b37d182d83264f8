"""Headline metrics: what ``dvc exp show`` / ``dvc metrics diff`` show, chosen from each stage's stats.

Every stage writes its whole statistics dump (counts per file/domain/source, timings, digests,
configuration echoes) to ``stats/<name>.json``, a plain output, and the few numbers a person
compares across experiments to ``metrics/<name>.json``, the stage's DVC ``metrics:``. Which
numbers those are is data, below: one entry per stats file (``fnmatch`` patterns on its path
under ``stats/``, first match wins), each a list of dotted key paths where ``*`` stands for
every key of a mapping. A stats file without an entry is an error, so a new stage decides
its headline instead of flooding ``dvc exp show``.
"""

from __future__ import annotations

from collections.abc import Mapping
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

from sentidistill.io import write_json

STATS_DIR_NAME = "stats"
METRICS_DIR_NAME = "metrics"

HEADLINES: dict[str, tuple[str, ...]] = {
    "sentibench_ingest": ("rows_in", "rows_kept", "rows_rejected"),
    "corpus_ingest": ("total.*",),
    "corpus_dedup": ("total.*",),
    "corpus_decontaminate": ("total.*",),
    "corpus_pools": ("total.*",),
    "corpus": ("total.*",),
    "knowdist_prompts": ("texts", "prompts", "skipped_too_long"),
    "icldist_demo_labels": ("texts", "labeled", "parse_failed"),
    "icldist_prompts": ("prompts", "skipped_too_long", "natinst_tasks_used"),
    "teacher_*": ("rows", "kept", "generated", "cache_hits", "failed"),
    "training/*": ("trained", "global_step", "first_loss", "last_loss", "train_loss"),
    "sentibench/comparison": (
        "mean.delta",
        "mean.ci_low",
        "mean.ci_high",
        "mean.baseline_f1",
        "mean.model_f1",
        "datasets.*.delta",
    ),
    "sentibench/*": ("avg", "categories.*", "datasets.*.f1"),
    "classifier_labels": ("rows", "labeled", "parse_failed"),
    "classifier_train": ("heldout.macro_f1", "heldout.accuracy", "heldout.n"),
    "classifier_eval": ("models.*.avg", "models.*.datasets.*.f1"),
    "classifier_comparison": ("full.*.avg", "teacher_parse_failed"),
}


class NoHeadlineError(KeyError):
    """A stats file that :data:`HEADLINES` does not cover."""


def paths_for(name: str) -> tuple[str, ...]:
    for pattern, keys in HEADLINES.items():
        if fnmatchcase(name, pattern):
            return keys
    raise NoHeadlineError(
        f"stats/{name}.json has no entry in sentidistill.headline.HEADLINES: add the few "
        "numbers dvc exp show should carry for it"
    )


def _select(obj: Any, parts: list[str]) -> Any:
    if not parts:
        return obj
    if not isinstance(obj, Mapping):
        return None
    head, rest = parts[0], parts[1:]
    keys = list(obj) if head == "*" else [head] if head in obj else []
    out = {k: v for k in keys if (v := _select(obj[k], rest)) is not None}
    return out or None


def _merge(into: dict[str, Any], part: Mapping[str, Any]) -> None:
    for k, v in part.items():
        if isinstance(v, Mapping) and isinstance(into.get(k), dict):
            _merge(into[k], v)
        else:
            into[k] = dict(v) if isinstance(v, Mapping) else v


def headline(name: str, stats: Mapping[str, Any]) -> dict[str, Any]:
    """The headline subset of ``stats`` (the nesting kept; paths that are absent are left out)."""
    out: dict[str, Any] = {}
    for path in paths_for(name):
        if (part := _select(stats, path.split("."))) is not None:
            _merge(out, part)
    return out


def headline_target(stats_path: Path) -> tuple[str, Path] | None:
    """(name, metrics path) for ``<root>/stats/<name>.json`` -> ``<root>/metrics/<name>.json``;
    None for a file outside a ``stats/`` folder (an ad-hoc run writes its dump only)."""
    stats_path = Path(stats_path)
    for parent in stats_path.parents[:2]:  # stats/<name>.json or stats/<group>/<name>.json
        if parent.name == STATS_DIR_NAME:
            rel = stats_path.relative_to(parent)
            return rel.with_suffix("").as_posix(), parent.parent / METRICS_DIR_NAME / rel
    return None


def write_stats(stats_path: str | Path, stats: Mapping[str, Any]) -> None:
    """The whole dump to ``stats_path`` and, under ``stats/``, its headline to ``metrics/``."""
    Path(stats_path).parent.mkdir(parents=True, exist_ok=True)
    write_json(stats_path, stats)
    if (target := headline_target(Path(stats_path))) is not None:
        name, metrics_path = target
        metrics_path.parent.mkdir(parents=True, exist_ok=True)
        write_json(metrics_path, headline(name, stats))
