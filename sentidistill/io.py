"""Artifact I/O: every parquet a stage writes is schema-validated and written atomically.

Atomic writes (temp file + rename) mean a killed stage never leaves a half-written
artifact that a later run could mistake for a finished one.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import socket
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import polars as pl

from sentidistill.faults import failpoint


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


#: a temp file whose writer cannot be checked (another host) counts as abandoned after this long
ABANDONED_TEMP_AGE_S = 24 * 3600


def _writer_tag() -> str:
    """``<host>~<pid>``: who writes a temp file, so a cleanup removes only the temp files of
    writers that are gone (another process may be writing into the same folder right now)."""
    return f"{socket.gethostname().replace('.', '_').replace('~', '_')}~{os.getpid()}"


def _atomic_target(path: Path) -> tuple[int, str]:
    """A temp file beside ``path`` with normal permissions (mkstemp would give 0600). Temp
    files of earlier writes of ``path`` whose writer is gone (killed mid-write) are removed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    for stale in abandoned_temp_files(path.parent, path.name):
        stale.unlink(missing_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{_writer_tag()}.", suffix=".tmp", dir=path.parent)
    os.fchmod(fd, 0o666 & ~_umask())
    return fd, tmp


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def abandoned_temp_files(folder: str | Path, name: str = "") -> list[Path]:
    """Temp files in ``folder`` left by writes that were cut short (a kill, a full disk).

    A temp file of a live process on this host is never abandoned (it may be mid-write);
    one of a dead process is; one of another host (a shared file system) or of an older
    naming is abandoned once it is older than :data:`ABANDONED_TEMP_AGE_S`. With ``name``:
    only temp files of writes of that file."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    host = socket.gethostname().replace(".", "_").replace("~", "_")
    out = []
    for p in sorted(folder.glob(f".{glob.escape(name)}.*.tmp" if name else ".*.tmp")):
        tag = p.name.rsplit(".", 3)[-3] if p.name.count(".") >= 4 else ""
        t_host, _, t_pid = tag.partition("~")
        if t_host == host and t_pid.isdigit():
            if not _pid_alive(int(t_pid)):
                out.append(p)
            continue
        try:
            age = time.time() - p.stat().st_mtime
        except FileNotFoundError:  # its writer just renamed it
            continue
        if age > ABANDONED_TEMP_AGE_S:
            out.append(p)
    return out


def write_parquet(df: pl.DataFrame, path: str | Path, schema: Any | None = None) -> pl.DataFrame:
    """Validate ``df`` against a ``pandera.polars`` schema (if given) and write it atomically."""
    path = Path(path)
    if schema is not None:
        df = schema.validate(df, lazy=True)
    fd, tmp = _atomic_target(path)
    os.close(fd)
    try:
        df.write_parquet(tmp, compression="zstd", statistics=True)
        failpoint("io.before_replace", str(path))
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return df


_REQUIRED: Any = object()


def read_json(path: str | Path, default: Any = _REQUIRED) -> Any:
    """A JSON file's value; ``default`` when the file does not exist (an optional stats file),
    else a FileNotFoundError that says how to make it."""
    path = Path(path)
    if not path.is_file():
        if default is not _REQUIRED:
            return default
        raise FileNotFoundError(f"{path} not found: run `dvc repro` (or the stage that produces it) first.")
    return json.loads(path.read_text(encoding="utf-8"))


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
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(obj, fh, indent=2, sort_keys=True, ensure_ascii=False)
            fh.write("\n")
        os.replace(tmp, path)
    finally:  # a failed write (full disk) leaves no temp file behind
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_text(path: str | Path, text: str) -> None:
    path = Path(path)
    fd, tmp = _atomic_target(path)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    finally:  # a failed write (full disk) leaves no temp file behind
        if os.path.exists(tmp):
            os.unlink(tmp)


# ------------------------------------------------------------------- files and folders for libraries
# Every artifact writer goes through this module (tests/sentidistill/test_no_raw_writes.py scans
# the code for raw writes): a kill or a full disk during a write leaves the previous artifact or none.

#: a folder artifact is built in ``.<name>.partial`` beside it; the folder it replaces waits in ``.<name>.old``
PARTIAL_SUFFIX = ".partial"
OLD_SUFFIX = ".old"


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A temp path beside ``path`` for a library that wants a file name (``savefig``, ``write_csv``,
    ``open``): renamed onto ``path`` when the block ends, removed if it raises. The temp name does
    not end like ``path``, so name the format explicitly (``savefig(..., format="png")``)."""
    path = Path(path)
    fd, tmp = _atomic_target(path)
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_bytes(path: str | Path, data: bytes) -> None:
    """``data`` written atomically (the bytes counterpart of :func:`write_text`)."""
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        fh.write(data)


def partial_folder(path: str | Path) -> Path:
    """Where the folder artifact ``path`` is built before :func:`replace_folder` swaps it in."""
    path = Path(path)
    return path.with_name(f".{path.name}{PARTIAL_SUFFIX}")


def replace_folder(work: str | Path, path: str | Path) -> None:
    """Swap the finished folder ``work`` into ``path`` with two renames: ``path`` is always the
    previous complete folder or the new one, never a mix (a process killed between the renames
    leaves none, the previous one in ``.<name>.old``). A failed swap puts the previous one back."""
    work, path = Path(work), Path(path)
    old = path.with_name(f".{path.name}{OLD_SUFFIX}")
    if old.exists():
        shutil.rmtree(old)
    had_previous = path.exists()
    if had_previous:
        os.replace(path, old)
    try:
        os.replace(work, path)
    except BaseException:
        if had_previous:
            os.replace(old, path)
        raise
    shutil.rmtree(old, ignore_errors=True)


@contextmanager
def atomic_folder(path: str | Path) -> Iterator[Path]:
    """A fresh, empty partial folder to fill (``save_pretrained``, ``copytree``): swapped into
    ``path`` by :func:`replace_folder` when the block ends, removed if it raises."""
    path = Path(path)
    work = partial_folder(path)
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    try:
        yield work
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    replace_folder(work, path)
