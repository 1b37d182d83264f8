"""A full disk during any artifact write leaves the previous artifact byte for byte (or none),
and no temp file: the atomic writers of sentidistill/io.py and the model folders built on them."""

from __future__ import annotations

import builtins
import errno
import io
import json
import os
import resource
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from sentidistill.io import (
    atomic_folder,
    atomic_path,
    partial_folder,
    replace_folder,
    write_bytes,
    write_json,
    write_parquet,
    write_text,
)

#: rows of the frame whose parquet is larger than the file-size limit of the kernel-level tests
BIG_ROWS = 200_000
#: bytes a process may write into one file in the kernel-level tests (RLIMIT_FSIZE)
FILE_SIZE_LIMIT = 64 * 1024
#: figure sizes (inches) whose PNG is well under / well over FILE_SIZE_LIMIT
SMALL_FIGURE, BIG_FIGURE = 1, 30


def _enospc() -> OSError:
    return OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


class _FillingFile:
    """A file on a disk that fills up: the first write lands half of its bytes, then ENOSPC."""

    def __init__(self, fh: Any) -> None:
        self._fh = fh

    def write(self, data: Any) -> int:
        self._fh.write(data[: len(data) // 2])
        self._fh.flush()
        raise _enospc()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._fh, name)

    def __enter__(self) -> _FillingFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self._fh.close()


@pytest.fixture
def full_disk(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Callable[[], None]:
    """``full_disk()``: from now on every write into ``tmp_path`` (open, os.fdopen, polars'
    write_parquet) writes half of its bytes and fails with ENOSPC."""
    real_open, real_fdopen, real_write_parquet = builtins.open, os.fdopen, pl.DataFrame.write_parquet

    def writing(mode: str) -> bool:
        return any(c in mode for c in "wax+")

    def fake_open(file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        fh = real_open(file, mode, *args, **kwargs)
        inside = isinstance(file, (str, os.PathLike)) and str(tmp_path) in os.fspath(file)
        return _FillingFile(fh) if inside and writing(mode) else fh

    def fake_fdopen(fd: int, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        fh = real_fdopen(fd, mode, *args, **kwargs)
        return _FillingFile(fh) if writing(mode) else fh

    def fake_write_parquet(self: pl.DataFrame, file: Any, *args: Any, **kwargs: Any) -> None:
        buf = io.BytesIO()
        real_write_parquet(self, buf, *args, **kwargs)
        data = buf.getvalue()
        with real_open(file, "wb") as fh:
            fh.write(data[: len(data) // 2])
        raise _enospc()

    def fill() -> None:
        monkeypatch.setattr(builtins, "open", fake_open)
        monkeypatch.setattr(os, "fdopen", fake_fdopen)
        monkeypatch.setattr(pl.DataFrame, "write_parquet", fake_write_parquet)

    return fill


def _atomic_path_half_file(path: Path, data: bytes) -> None:
    """A library writing through atomic_path that dies half-way (its own write fails)."""
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            fh.write(data)


WRITERS: dict[str, Callable[[Path, str], None]] = {
    "write_parquet": lambda p, v: write_parquet(pl.DataFrame({"v": [v] * 100}), p),
    "write_json": lambda p, v: write_json(p, {"v": v, "rows": list(range(100))}),
    "write_text": lambda p, v: write_text(p, f"{v}\n" * 100),
    "write_bytes": lambda p, v: write_bytes(p, v.encode() * 100),
    "atomic_path": lambda p, v: _atomic_path_half_file(p, v.encode() * 100),
}


@pytest.mark.parametrize("writer", sorted(WRITERS))
def test_a_full_disk_keeps_the_previous_artifact_and_leaves_no_temp_file(tmp_path, full_disk, writer):
    path = tmp_path / "out" / "artifact.bin"
    WRITERS[writer](path, "previous")
    before = path.read_bytes()
    full_disk()
    with pytest.raises(OSError) as exc:
        WRITERS[writer](path, "new content that does not fit")
    assert exc.value.errno == errno.ENOSPC
    assert path.read_bytes() == before
    assert os.listdir(path.parent) == [path.name]


@pytest.mark.parametrize("writer", sorted(WRITERS))
def test_a_full_disk_on_a_first_write_leaves_no_file(tmp_path, full_disk, writer):
    path = tmp_path / "artifact.bin"
    full_disk()
    with pytest.raises(OSError):
        WRITERS[writer](path, "new")
    assert os.listdir(tmp_path) == []


@contextmanager
def _file_size_limit(n_bytes: int) -> Iterator[None]:
    """The kernel refuses to grow any file past ``n_bytes`` (EFBIG; Python ignores SIGXFSZ):
    a full disk as every library sees it, whatever it writes with."""
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (n_bytes, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))


def _save_figure(base: Path, inches: int) -> None:
    from sentidistill.reports.plots import pyplot, save_figure

    fig, ax = pyplot().subplots(figsize=(inches, inches))
    ax.plot(range(100), [i % 7 for i in range(100)])
    save_figure(fig, base)


KERNEL_WRITERS: dict[str, tuple[Callable[[Path], None], Callable[[Path], None]]] = {
    "write_parquet": (
        lambda p: write_parquet(pl.DataFrame({"v": [1]}), p),
        lambda p: write_parquet(pl.DataFrame({"v": [str(i) for i in range(BIG_ROWS)]}), p),
    ),
    "write_json": (lambda p: write_json(p, {"v": 1}), lambda p: write_json(p, {"v": list(range(BIG_ROWS))})),
    "write_text": (lambda p: write_text(p, "1\n"), lambda p: write_text(p, "x\n" * BIG_ROWS)),
    "write_bytes": (lambda p: write_bytes(p, b"1"), lambda p: write_bytes(p, b"x" * BIG_ROWS)),
    "save_figure": (
        lambda p: _save_figure(p.with_suffix(""), SMALL_FIGURE),
        lambda p: _save_figure(p.with_suffix(""), BIG_FIGURE),
    ),
}


@pytest.mark.parametrize("writer", sorted(KERNEL_WRITERS))
def test_a_write_the_kernel_refuses_keeps_the_previous_artifact(tmp_path, writer):
    small, big = KERNEL_WRITERS[writer]
    path = tmp_path / "artifact.png"  # save_figure writes artifact.png + artifact.svg
    small(path)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    assert max(len(b) for b in before.values()) < FILE_SIZE_LIMIT
    with _file_size_limit(FILE_SIZE_LIMIT), pytest.raises(Exception) as exc:  # noqa: B017 - OSError, or polars' own
        big(path)
    assert "too large" in str(exc.value).lower()  # EFBIG, not some other failure
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


# ------------------------------------------------------------------------------ folders
def _folder(path: Path, tag: str) -> dict[str, bytes]:
    (path / "hf").mkdir(parents=True)
    (path / "hf" / "weights.bin").write_bytes(tag.encode() * 1000)
    (path / "manifest.json").write_text(json.dumps({"tag": tag}))
    return _contents(path)


def _contents(path: Path) -> dict[str, bytes]:
    return {p.relative_to(path).as_posix(): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


def test_atomic_folder_swaps_the_new_folder_in_whole(tmp_path):
    out = tmp_path / "model"
    before = _folder(out, "old")
    with atomic_folder(out) as work:
        assert work == partial_folder(out) and not any(work.iterdir())
        new = _folder(work, "new")
        assert _contents(out) == before  # the old folder is untouched until the swap
    assert _contents(out) == new != before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]


def test_a_full_disk_while_a_folder_is_built_keeps_the_previous_folder(tmp_path):
    out = tmp_path / "model"
    before = _folder(out, "old")
    with pytest.raises(OSError), atomic_folder(out) as work:
        (work / "hf").mkdir()
        (work / "hf" / "weights.bin").write_bytes(b"half a model")
        raise _enospc()
    assert _contents(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]  # no .partial, no .old


def test_a_folder_the_kernel_refuses_keeps_the_previous_folder(tmp_path):
    import shutil

    big = tmp_path / "big.bin"
    big.write_bytes(b"x" * BIG_ROWS)
    out = tmp_path / "model"
    before = _folder(out, "old")
    with _file_size_limit(FILE_SIZE_LIMIT), pytest.raises(OSError), atomic_folder(out) as work:
        shutil.copyfile(big, work / "weights.bin")
    assert _contents(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.bin", "model"]


def test_a_failed_swap_puts_the_previous_folder_back(tmp_path, monkeypatch):
    out, work = tmp_path / "model", tmp_path / ".model.partial"
    before = _folder(out, "old")
    _folder(work, "new")
    real_replace = os.replace

    def replace(src: Any, dst: Any) -> None:
        if Path(src) == work:
            raise _enospc()
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(OSError):
        replace_folder(work, out)
    assert _contents(out) == before
    assert not (tmp_path / ".model.old").exists()


def test_replace_folder_without_a_previous_folder(tmp_path):
    work = tmp_path / ".model.partial"
    new = _folder(work, "new")
    replace_folder(work, tmp_path / "model")
    assert _contents(tmp_path / "model") == new and not work.exists()


# ------------------------------------------------------------------------- model folders
def _manifest() -> dict[str, Any]:
    return {
        "name": "student",
        "stage": "icldist",
        "mode": "two_stage",
        "base_model": "tiny",
        "started_from": "base",
        "trained": True,
        "git_revision": "abc",
        "teacher": "t",
    }


def test_a_full_disk_during_a_model_folder_copy_keeps_the_previous_folder(tmp_path, monkeypatch):
    """copy_student (the pass-through training stages): a card or manifest that does not
    fit leaves the previous model folder whole."""
    from sentidistill.models import folder

    src = tmp_path / "src" / "hf"
    src.mkdir(parents=True)
    (src / "model.safetensors").write_bytes(b"weights")
    out = tmp_path / "models" / "student"
    folder.copy_student(src, out, _manifest())
    before = _contents(out)

    def no_space(*args: Any, **kwargs: Any) -> None:
        raise _enospc()

    monkeypatch.setattr(folder, "write_json", no_space)
    with pytest.raises(OSError):
        folder.copy_student(src, out, {**_manifest(), "name": "other"}, card="new card")
    assert _contents(out) == before
    assert sorted(p.name for p in out.parent.iterdir()) == ["student"]


def test_a_full_disk_during_the_classifier_export_keeps_the_previous_export(tmp_path, monkeypatch):
    from sentidistill.classifier import report
    from sentidistill.classifier.train import SUMMARY

    student = tmp_path / "classifier-student"
    student.mkdir()
    (student / "model.safetensors").write_bytes(b"weights")
    (student / SUMMARY).write_text("{}")
    monkeypatch.setattr(report, "model_card", lambda summary, md, front=None: f"card {md}\n")
    out = tmp_path / "sentidistill-classifier"
    report.export_model(student, out, "first")
    before = _contents(out)

    def no_space(*args: Any, **kwargs: Any) -> None:
        raise _enospc()

    monkeypatch.setattr(report, "write_text", no_space)
    with pytest.raises(OSError):
        report.export_model(student, out, "second")
    assert _contents(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["classifier-student", "sentidistill-classifier"]
