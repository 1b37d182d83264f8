"""Fake weight packages on sys.path: a chunked GGUF split over importable-but-never-imported modules."""

from __future__ import annotations

import hashlib
import importlib
import sys
from pathlib import Path

import pytest

from sentidistill.models.registry import PypiGgufSource


def make_parts_package(root: Path, prefix: str, chunks: list[bytes]) -> None:
    """``<prefix>_part{i}/data/part{i:02d}.bin``; each ``__init__`` fails if imported."""
    for i, chunk in enumerate(chunks, start=1):
        pkg = root / f"{prefix}_part{i}"
        (pkg / "data").mkdir(parents=True)
        (pkg / "__init__.py").write_text("raise ImportError('weight packages must not be imported')\n")
        (pkg / "data" / f"part{i:02d}.bin").write_bytes(chunk)


@pytest.fixture
def fake_parts(tmp_path, monkeypatch):
    """A 11-part fake model (so part10 must come after part9) and its spec."""
    chunks = [bytes([i]) * (1000 + i) for i in range(1, 12)]
    prefix = f"fakew{tmp_path.name.replace('-', '_')[-12:]}"
    site = tmp_path / "site"
    make_parts_package(site, prefix, chunks)
    monkeypatch.syspath_prepend(str(site))
    importlib.invalidate_caches()
    data = b"".join(chunks)
    spec = PypiGgufSource(
        source="pypi-gguf",
        parts={
            "count": len(chunks),
            "package": f"{prefix}-part{{i}}==1.0",
            "module": f"{prefix}_part{{i}}",
            "path": "data/part{i:02d}.bin",
        },
        sha256=hashlib.sha256(data).hexdigest(),
    )
    yield spec, data
    for name in [m for m in sys.modules if m.startswith(prefix)]:
        del sys.modules[name]
