"""What produced an artifact: code revision, library versions, repository-relative paths.

Shared by every writer of metrics and model manifests, so that the same run in two
checkouts records the same values (no absolute machine paths) -- the model is the results
JSON of lm-evaluation-harness (config + git hash + versions).
"""

from __future__ import annotations

import platform
import subprocess
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path
from typing import Any

#: the libraries whose versions decide a SentiBench number (kernels, tokenizers, sampling)
EVAL_LIBRARIES = ("torch", "transformers", "llama-cpp-python", "tokenizers", "sentidistill")
#: tracked paths whose local edits make ``code_revision``'s sha not describe the code that ran
CODE_PATHS = ("sentidistill", "stages", "schemas", "pyproject.toml")


def _git(args: list[str], root: Path | None) -> str:
    return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=True).stdout.strip()


def git_revision(root: Path | None = None) -> str:
    """HEAD's sha, ``-dirty`` when a tracked file differs from it (any file, unlike :func:`code_revision`),
    ``"unknown"`` outside a git checkout: what a model's manifest and card record (``root``: the
    checkout, default the working directory)."""
    try:
        rev = _git(["rev-parse", "HEAD"], root)
        dirty = _git(["status", "--porcelain", "--untracked-files=no"], root)
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return rev + ("-dirty" if dirty else "")


def code_revision(root: Path) -> dict[str, Any]:
    """HEAD's sha and whether the *code* differs from it. Unlike a plain ``-dirty`` flag,
    edits to dvc.lock, metrics or params -- which a running ``dvc repro`` makes itself --
    do not count (the effective config is recorded beside it)."""
    try:
        rev = _git(["rev-parse", "HEAD"], root)
        dirty = bool(_git(["status", "--porcelain", "--untracked-files=no", "--", *CODE_PATHS], root))
    except (OSError, subprocess.CalledProcessError):
        return {"git_revision": "unknown", "code_modified": None}
    return {"git_revision": rev, "code_modified": dirty}


def library_versions(names: Iterable[str] = EVAL_LIBRARIES) -> dict[str, str | None]:
    out: dict[str, str | None] = {"python": platform.python_version()}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def repo_relative(value: Any, root: Path) -> Any:
    """``value`` with every string that is an absolute path inside ``root`` made relative to
    it (recursively through dicts and lists); other strings unchanged."""
    if isinstance(value, dict):
        return {k: repo_relative(v, root) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [repo_relative(v, root) for v in value]
    if isinstance(value, str) and value.startswith("/"):
        try:
            return Path(value).resolve().relative_to(root.resolve()).as_posix()
        except ValueError:
            return value
    return value
