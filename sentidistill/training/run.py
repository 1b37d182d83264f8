"""The ``train_knowdist`` / ``train_icldist`` stages: pick the starting model, the data and the
hyper-parameters from ``training:``, train (or pass through, by ``training.mode``),
write ``models/student-<stage>/``, metrics and the loss/lr plot data."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from sentidistill import paths
from sentidistill.headline import write_stats
from sentidistill.log import get_logger
from sentidistill.models.folder import HF_DIR, MANIFEST, copy_student, load_manifest
from sentidistill.provenance import git_revision
from sentidistill.training.config import Stage, TrainingParams
from sentidistill.training.data import CORPUS_PATHS, load_records
from sentidistill.training.loss_log import plot_log
from sentidistill.training.sft import train_stage

log = get_logger(__name__)

CACHE_DIR = paths.ROOT / ".cache" / "training"
PLOTS_DIR = paths.ROOT / "plots" / "training"
METRICS_DIR = paths.STATS / "training"
LIVE_DIR = paths.DVCLIVE  # DVCLive's folder, one sub-folder per training stage


def output_name(stage: Stage) -> str:
    return f"student-{stage}"


def starting_model(stage: Stage, cfg: TrainingParams, models_dir: Path) -> tuple[Path, str]:
    """(hf folder to start from, name of the original base student)."""
    if stage == "knowdist":
        from sentidistill.models.store import model_paths

        mp = model_paths(cfg.effective_base_model(), models_dir)
        return mp.hf_dir, mp.name
    root = models_dir / output_name("knowdist")
    if not (root / MANIFEST).is_file():
        raise FileNotFoundError(f"{root} not found: run `dvc repro train_knowdist` first")
    return root / HF_DIR, load_manifest(root)["base_model"]


def run_stage(
    stage: Stage,
    cfg: TrainingParams,
    *,
    teacher: str | None = None,
    models_dir: Path = paths.MODELS,
    corpus_paths: dict[str, Path] | None = None,
    cache_dir: Path = CACHE_DIR,
    plots_dir: Path = PLOTS_DIR,
    metrics_dir: Path = METRICS_DIR,
    live_dir: Path | None = None,
    stop_after_steps: int | None = None,
    validate: bool = True,
) -> dict[str, Any]:
    t0 = time.perf_counter()
    start_hf, base_name = starting_model(stage, cfg, models_dir)
    out_root = models_dir / output_name(stage)
    lineage = [base_name]
    if stage == "icldist":
        prev = load_manifest(start_hf.parent)
        lineage = list(prev.get("lineage", [base_name]))
    manifest: dict[str, Any] = {
        "format_version": 1,
        "name": output_name(stage),
        "stage": stage,
        "mode": cfg.mode,
        "profile": cfg.profile,
        "base_model": base_name,
        "started_from": str(start_hf.parent.name),
        "teacher": teacher,
        "chat_template": cfg.chat_template,
        "git_revision": git_revision(paths.ROOT),
    }
    plot_stem = plots_dir / stage
    if not cfg.trains(stage):
        log.info("%s: mode %s -> copy of %s (no training)", stage, cfg.mode, start_hf.parent)
        copy_student(start_hf, out_root, {**manifest, "trained": False, "lineage": lineage, "data": {}, "hparams": {}})
        plot_log([], plot_stem, f"{stage}: not trained (mode {cfg.mode})")
        metrics: dict[str, Any] = {"stage": stage, "trained": False, "mode": cfg.mode}
    else:
        hp = cfg.stage(stage)
        records, stats = load_records(
            cfg.corpora(stage),
            chat_template=cfg.chat_template,
            max_rows=hp.max_rows,
            seed=hp.seed,
            paths=corpus_paths or CORPUS_PATHS,
            validate=validate,
            demo_label_loss=cfg.demo_label_loss and stage == "icldist",
        )
        manifest["lineage"] = [*lineage, f"{output_name(stage)} ({'+'.join(cfg.corpora(stage))})"]
        metrics = train_stage(
            records,
            base_hf=start_hf,
            out_root=out_root,
            hp=hp,
            cfg=cfg,
            stage=stage,
            data_stats=stats,
            manifest_extra=manifest,
            cache_dir=cache_dir,
            plot_stem=plot_stem,
            live_dir=live_dir,
            stop_after_steps=stop_after_steps,
        )
        metrics.update(trained=True, mode=cfg.mode, profile=cfg.profile)
    metrics["wall_seconds"] = round(time.perf_counter() - t0, 1)
    if not metrics.get("interrupted"):
        write_stats(metrics_dir / f"{stage}.json", metrics)
    return metrics
