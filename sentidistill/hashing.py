"""Streaming sha256 of files, shared by model materialization (verifying weight files) and the
engines (keying evaluation caches by what a model is)."""

from __future__ import annotations

import hashlib
from pathlib import Path

_CHUNK = 16 * 1024 * 1024  # streaming buffer: never hold a whole GGUF in memory


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()
