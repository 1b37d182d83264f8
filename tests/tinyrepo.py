"""A throw-away copy of this repository on the ``tiny`` preset, for tests that run real DVC.

``make_tiny_repo(dst)`` copies the working tree's source files (tracked + untracked, not
ignored, without pipeline outputs), applies ``presets/tiny.yaml`` to its params.yaml,
makes it a git repo with one commit, points the ``shared`` remote at this checkout's
remote, pulls the raw data from it and registers the already materialized SmolLM2
folder as the output of ``prepare_models@smollm2-135m-instruct`` (``dvc commit``), so
``dvc repro`` there runs the real DAG on a handful of rows. Never touches this checkout.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from sentidistill.paths import ROOT

TINY_MODEL = "smollm2-135m-instruct"
# untracked pipeline outputs that may lie in a developer's checkout
_SKIP_PREFIXES = ("data/", "metrics/", "stats/", "reports/", "models/", "bench/results/", ".dvc/tmp", ".dvc/cache")
_KEEP = ("data/raw/sentibench.dvc", "data/raw/unlabeled.dvc", "data/raw/natinst.dvc")


def env() -> dict[str, str]:
    """Environment for dvc/git subprocesses: this venv's python first, no user git config surprises."""
    e = dict(os.environ)
    e["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{e.get('PATH', '')}"
    e.setdefault("GIT_AUTHOR_NAME", "test")
    e.setdefault("GIT_AUTHOR_EMAIL", "test@example.com")
    e.setdefault("GIT_COMMITTER_NAME", "test")
    e.setdefault("GIT_COMMITTER_EMAIL", "test@example.com")
    e["DVC_NO_ANALYTICS"] = "1"
    e["PYTHONUNBUFFERED"] = "1"
    return e


def run(args: list[str], cwd: Path, check: bool = True, timeout: float = 1800) -> subprocess.CompletedProcess:
    p = subprocess.run(args, cwd=cwd, env=env(), capture_output=True, text=True, timeout=timeout)
    if check and p.returncode != 0:
        raise AssertionError(f"{' '.join(args)} failed ({p.returncode}):\n{p.stdout[-4000:]}\n{p.stderr[-4000:]}")
    return p


def dvc(*args: str, cwd: Path, check: bool = True, timeout: float = 1800) -> subprocess.CompletedProcess:
    return run([str(Path(sys.executable).parent / "dvc"), *args], cwd, check=check, timeout=timeout)


def source_files(root: Path = ROOT) -> list[str]:
    out = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=root, capture_output=True, text=True, check=True
    ).stdout
    files = []
    for f in out.split("\0"):
        if not f or not (root / f).is_file():
            continue
        if f in _KEEP or f.endswith(".gitignore") or not f.startswith(_SKIP_PREFIXES):
            if f == "dvc.lock":
                continue
            files.append(f)
    return files


def remote_url(root: Path = ROOT) -> Path:
    """Absolute path of this checkout's default remote (a local directory)."""
    url = subprocess.run(
        [str(Path(sys.executable).parent / "dvc"), "remote", "list"],
        cwd=root,
        capture_output=True,
        text=True,
        env=env(),
    ).stdout
    for line in url.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0] == "shared":
            u = parts[1]
            return (root / ".dvc" / u).resolve() if not os.path.isabs(u) else Path(u)
    return (ROOT.parent / "shared" / "dvc-remote").resolve()


def make_tiny_repo(dst: Path, *, preset: str = "tiny", pull_raw: bool = True, model: bool = True) -> Path:
    dst.mkdir(parents=True, exist_ok=True)
    for f in source_files():
        (dst / f).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / f, dst / f)
    run(
        [
            sys.executable,
            "-m",
            "sentidistill.presets",
            "apply",
            preset,
            "--params",
            str(dst / "params.yaml"),
            "--presets-dir",
            str(dst / "presets"),
            "--no-check",
        ],
        dst,
    )
    run(["git", "init", "-q", "-b", "main"], dst)
    run(["git", "add", "-A"], dst)
    run(["git", "commit", "-q", "-m", "tiny copy"], dst)
    dvc("remote", "modify", "--local", "shared", "url", str(remote_url()), cwd=dst)
    # hardlinks: no second copy of raw data / weights in the temp dir
    dvc("config", "--local", "cache.type", "hardlink,symlink,copy", cwd=dst)
    if pull_raw:
        dvc("pull", "-q", *_KEEP, cwd=dst)
    if model:
        src = ROOT / "models" / TINY_MODEL
        if not (src / "manifest.json").is_file():
            raise FileNotFoundError(
                f"{src} not materialized: run `python -m sentidistill.stages.prepare_models {TINY_MODEL}`"
            )
        shutil.copytree(src, dst / "models" / TINY_MODEL, copy_function=os.link)
        dvc("commit", "-f", "-q", f"prepare_models@{TINY_MODEL}", cwd=dst)
    return dst


def stage_runs(repro_stdout: str) -> list[str]:
    """Names of the stages ``dvc repro`` ran ("Running stage 'x':")."""
    out = []
    for line in repro_stdout.splitlines():
        line = line.strip()
        if line.startswith("Running stage '"):
            out.append(line.split("'")[1])
    return out


def read_json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))
