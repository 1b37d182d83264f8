"""Artifact I/O: every parquet a stage writes is schema-validated and written atomically.

Atomic writes (temp file + rename) mean a killed stage never leaves a half-written
artifact that a later run could mistake for a finished one.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import polars as pl


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _atomic_target(path: Path) -> tuple[int, str]:
    """A temp file beside ``path`` with normal permissions (mkstemp would give 0600)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.fchmod(fd, 0o666 & ~_umask())
    return fd, tmp


def write_parquet(df: pl.DataFrame, path: str | Path, schema: Any | None = None) -> pl.DataFrame:
    """Validate ``df`` against a ``pandera.polars`` schema (if given) and write it atomically."""
    path = Path(path)
    if schema is not None:
        df = schema.validate(df, lazy=True)
    fd, tmp = _atomic_target(path)
    os.close(fd)
    try:
        df.write_parquet(tmp, compression="zstd", statistics=True)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return df


def read_parquet(path: str | Path, schema: Any | None = None) -> pl.DataFrame:
    """Read an artifact and re-check it against the schema shared with the stage that wrote it."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path} not found: run `dvc repro` (or the stage that produces it) first.")
    df = pl.read_parquet(path)
    if schema is not None:
        df = schema.validate(df, lazy=True)
    return df


def write_json(path: str | Path, obj: Any) -> None:
    """Pretty, key-sorted JSON (stable diffs for ``dvc metrics diff``), written atomically."""
    path = Path(path)
    fd, tmp = _atomic_target(path)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(obj, fh, indent=2, sort_keys=True, ensure_ascii=False)
        fh.write("\n")
    os.replace(tmp, path)


def write_text(path: str | Path, text: str) -> None:
    path = Path(path)
    fd, tmp = _atomic_target(path)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, path)
