"""Dry validation of a (paper-scale) configuration: nothing is downloaded or trained.

    python -m sentidistill.training.check_config presets/paper.yaml
    python -m sentidistill.training.check_config paper      # the same, by preset name
    python -m sentidistill.training.check_config            # params.yaml as it is

Deep-merges the preset onto params.yaml (sentidistill.presets), validates every parameter
group a stage reads with that stage's own pydantic model, then checks what only the
training stages know: the selected profile exists and is meant for ``models.student``,
the base student is in the registry and materialized, and the global batch divides into
per-device batch x gradient accumulation for 1, 2, 4 and 8 processes. Exit status 1 on
any error; prints the effective hyper-parameters of both stages.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, Mapping

from sentidistill import presets
from sentidistill.params import ParamsError
from sentidistill.paths import PARAMS_FILE
from sentidistill.training.config import STAGES, load_training_params

WORLD_SIZES = (1, 2, 4, 8)


def preset_path(preset: str | Path) -> Path:
    """A preset given by file (``presets/paper.yaml``) or by name (``paper``, as ``presets check`` takes it)."""
    p = Path(preset)
    if p.suffix in (".yaml", ".yml") or p.exists():
        return p
    return presets.preset_path(p.name)


def merged(preset: Path | None, params_file: Path = PARAMS_FILE) -> dict[str, Any]:
    base = presets.read_params(params_file)
    if preset is None:
        return base
    override = presets.load_preset(preset.stem, preset.parent)
    unknown = presets.unknown_keys(base, override)
    if unknown:
        raise presets.PresetError(f"{preset}: unknown top-level groups {unknown} (params.yaml has {sorted(base)})")
    return presets.deep_merge(base, override)


def training_checks(params: Mapping[str, Any]) -> tuple[list[str], list[str]]:
    """(errors, report lines) of the training-specific checks."""
    errors: list[str] = []
    lines: list[str] = []
    try:
        cfg = load_training_params(dict(params))
    except ParamsError as exc:
        return [str(exc)], lines
    models = params.get("models") or {}
    student = models.get(cfg.base_model, cfg.base_model) if cfg.base_model in ("student", "teacher") else cfg.base_model
    registry = models.get("registry") or {}
    if student not in registry:
        errors.append(f"training.base_model: {student!r} is not in models.registry")
    elif student not in (models.get("materialize") or []):
        errors.append(
            f"training.base_model: {student!r} is not in models.materialize (dvc.yaml depends on models/{student})"
        )
    if cfg.profile != "default":
        meant = cfg.profiles[cfg.profile].for_student
        if meant and meant != student:
            errors.append(
                f"training.profile {cfg.profile!r} is for {meant!r} but the student is {student!r}: "
                f"set models.student: {meant}"
            )
    lines.append(f"training: profile {cfg.profile}, mode {cfg.mode}, student {student}")
    for stage in STAGES:
        hp = cfg.stage(stage)
        accum = []
        for ws in WORLD_SIZES:
            try:
                accum.append(f"{ws} proc: x{hp.grad_accumulation(ws)}")
            except ParamsError:
                accum.append(f"{ws} proc: not divisible")
        trains = "trained on " + "+".join(cfg.corpora(stage)) if cfg.trains(stage) else "copy (not trained)"
        lines.append(f"  {stage} ({trains}): " + ", ".join(f"{k}={v}" for k, v in hp.model_dump().items()))
        lines.append(
            f"    batch {hp.batch_size} = per-device {hp.per_device_batch_size} x accumulation ({'; '.join(accum)})"
        )
    return errors, lines


def check(preset: Path | None, params_file: Path = PARAMS_FILE) -> tuple[list[str], list[str]]:
    params = merged(preset, params_file)
    errors, checked = presets.validate(params)
    t_errors, lines = training_checks(params)
    return errors + t_errors, [f"validated {len(checked)} parameter groups: {', '.join(checked)}", *lines]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m sentidistill.training.check_config", description=__doc__.splitlines()[0]
    )
    ap.add_argument("preset", nargs="?", help="a preset name (paper) or file (presets/paper.yaml); none = params.yaml")
    ap.add_argument("--params", type=Path, default=PARAMS_FILE, help="the base params.yaml (default: the repo's)")
    a = ap.parse_args(argv)
    try:
        errors, lines = check(preset_path(a.preset) if a.preset else None, a.params)
    except (presets.PresetError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print("\n".join(lines))
    if errors:
        print("\n".join(["INVALID:", *errors]), file=sys.stderr)
        return 1
    print(f"OK: {a.preset or a.params} is a valid configuration")
    return 0


if __name__ == "__main__":
    sys.exit(main())
