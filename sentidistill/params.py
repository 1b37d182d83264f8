"""Typed access to ``params.yaml``.

``params.yaml`` is grouped by stage (DVC's example-get-started style). Each stage
declares a pydantic model for its own group, next to the code that uses it (TRL's
config-dataclass habit), and reads it once at start with :func:`load_section`.
Validation errors name the bad key and what is allowed, so a typo in
``params.yaml`` fails before any work is done.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from sentidistill.paths import PARAMS_FILE

T = TypeVar("T", bound=BaseModel)


class ParamsError(ValueError):
    """``params.yaml`` is missing, malformed or holds a value a stage cannot use."""


class StrictModel(BaseModel):
    """Base for every params section: unknown keys are errors, not silently ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)


@functools.lru_cache(maxsize=8)
def _read_yaml(path: str) -> dict[str, Any]:
    p = Path(path)
    if not p.exists():
        raise ParamsError(f"{p} not found: run stages from the repository root (where params.yaml lives).")
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ParamsError(f"{p} is not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ParamsError(f"{p} must be a mapping of stage groups, got {type(data).__name__}")
    return data


def load_params(path: str | Path = PARAMS_FILE) -> dict[str, Any]:
    """The whole ``params.yaml`` as a plain dict (cached per path)."""
    return _read_yaml(str(path))


def format_validation_error(section: str, exc: ValidationError) -> str:
    lines = [f"params.yaml: invalid values in '{section}':"]
    for err in exc.errors():
        key = ".".join(str(p) for p in (section, *err["loc"]))
        got = err.get("input")
        got_s = "" if isinstance(got, dict) else f" (got {got!r})"
        if err["type"] == "extra_forbidden":
            lines.append(f"  - {key}: unknown key; remove it or check its spelling")
        else:
            lines.append(f"  - {key}: {err['msg']}{got_s}")
    return "\n".join(lines)


def parse_section(section: str, data: Any, model: type[T]) -> T:
    """Validate ``data`` as ``model``; raise :class:`ParamsError` with readable key paths."""
    try:
        return model.model_validate(data if data is not None else {})
    except ValidationError as exc:
        raise ParamsError(format_validation_error(section, exc)) from None


def load_section(section: str, model: type[T], path: str | Path = PARAMS_FILE) -> T:
    """Read one dotted group (``"sentibench"``, ``"corpus.dedup"``) of params.yaml as ``model``."""
    data: Any = load_params(path)
    for part in section.split("."):
        if not isinstance(data, dict) or part not in data:
            raise ParamsError(f"params.yaml: missing group '{section}' (no key '{part}')")
        data = data[part]
    return parse_section(section, data, model)
