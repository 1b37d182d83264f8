"""The code each DVC stage runs, from its imports, against the ``deps`` dvc.yaml declares.

A stage runs ``python -m <module>``; every module of this repository that it can import --
top-level or inside a function (lazy imports count: they run when the stage needs them), and
the packages' ``__init__`` files -- is code whose change should rerun the stage. A dep covers
a file when it is the file or a folder above it.

    python -m tests.support.dvc_deps           # list what dvc.yaml misses, and code deps it need not list
    python -m tests.support.dvc_deps --write   # add / drop them (ruamel round trip: comments kept)

Module names map to folders as pyproject.toml's ``[tool.setuptools.package-dir]`` says
(``sentidistill.schemas`` is the folder ``schemas/``), as the installed package does.
"""

from __future__ import annotations

import argparse
import ast
import functools
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
#: top-level import names of this repository's code
PACKAGES = ("sentidistill",)


@functools.cache
def package_dirs(root: Path = ROOT) -> dict[str, str]:
    """Package name -> folder (relative to the root), longest name first."""
    setup = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    dirs = dict(setup.get("package-dir", {}))
    dirs.setdefault("sentidistill", "sentidistill")
    return dict(sorted(dirs.items(), key=lambda kv: -len(kv[0])))


def module_file(module: str, root: Path = ROOT) -> Path | None:
    parts = module.split(".")
    if parts[0] not in PACKAGES:
        return None
    for package, folder in package_dirs(root).items():
        if module == package or module.startswith(package + "."):
            rest = module.removeprefix(package).lstrip(".")
            p = root.joinpath(folder, *(rest.split(".") if rest else []))
            break
    else:  # pragma: no cover - every name under PACKAGES starts with a package
        return None
    if (p / "__init__.py").is_file():
        return p / "__init__.py"
    return p.with_suffix(".py") if p.with_suffix(".py").is_file() else None


def _code_folders(root: Path = ROOT) -> tuple[str, ...]:
    return tuple(sorted(set(package_dirs(root).values())))


def imported_modules(path: Path, root: Path = ROOT) -> set[str]:
    """Every module name ``path`` imports (absolute and relative), with ``from x import y``
    also as ``x.y`` (y may be a sub-module)."""
    package = ".".join(path.relative_to(root).with_suffix("").parts[:-1])
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join(up + ([node.module] if node.module else []))
            out.add(base)
            out |= {f"{base}.{a.name}" for a in node.names}
    return out


def closure(module: str, root: Path = ROOT) -> set[Path]:
    """Files of this repository that ``python -m module`` may execute."""
    start = module_file(module, root)
    if start is None:
        raise ValueError(f"{module} is not a module of this repository")
    seen: set[Path] = set()
    todo = [start]
    while todo:
        f = todo.pop()
        if f in seen:
            continue
        seen.add(f)
        for name in imported_modules(f, root):
            parts = name.split(".")
            for i in range(1, len(parts) + 1):  # the packages above run first
                if (g := module_file(".".join(parts[:i]), root)) is not None and g not in seen:
                    todo.append(g)
    return seen


def stage_module(cmd: str) -> str:
    return cmd.split("-m", 1)[1].split()[0]


def missing_deps(dvc_yaml: Path = ROOT / "dvc.yaml", root: Path = ROOT) -> dict[str, list[str]]:
    """Stage -> repository files its command may run that no dep covers."""
    stages = yaml.safe_load(dvc_yaml.read_text(encoding="utf-8"))["stages"]
    out = {}
    for name, stage in stages.items():
        body = stage.get("do", stage)
        deps = [d.rstrip("/") for d in body.get("deps", []) if isinstance(d, str)]
        files = sorted(f.relative_to(root).as_posix() for f in closure(stage_module(body["cmd"]), root))
        miss = [f for f in files if not any(f == d or f.startswith(d + "/") for d in deps)]
        if miss:
            out[name] = miss
    return out


def extra_deps(dvc_yaml: Path = ROOT / "dvc.yaml", root: Path = ROOT) -> dict[str, list[str]]:
    """Stage -> code deps (``.py`` files in the code folders) its command cannot run: a file that
    no longer exists, or one outside the import closure, whose change would rerun the stage for
    nothing."""
    stages = yaml.safe_load(dvc_yaml.read_text(encoding="utf-8"))["stages"]
    folders = _code_folders(root)
    out = {}
    for name, stage in stages.items():
        body = stage.get("do", stage)
        files = {f.relative_to(root).as_posix() for f in closure(stage_module(body["cmd"]), root)}
        extra = [
            d
            for d in body.get("deps", [])
            if isinstance(d, str)
            and d.endswith(".py")
            and d.startswith(tuple(f + "/" for f in folders))
            and d not in files
        ]
        if extra:
            out[name] = extra
    return out


def write_missing(dvc_yaml: Path = ROOT / "dvc.yaml") -> int:
    """Add the missing code deps and drop the extra ones; returns how many deps changed."""
    from ruamel.yaml import YAML

    missing = missing_deps(dvc_yaml)
    extra = extra_deps(dvc_yaml)
    rt = YAML()
    rt.preserve_quotes = True
    rt.width = 4096
    rt.indent(mapping=2, sequence=4, offset=2)
    data = rt.load(dvc_yaml.read_text(encoding="utf-8"))
    for name, files in missing.items():
        body = data["stages"][name].get("do", data["stages"][name])
        deps = body["deps"]
        code_end = max((i for i, d in enumerate(deps) if isinstance(d, str) and d.endswith(".py")), default=-1) + 1
        for j, f in enumerate(files):  # after the code deps, before the data deps
            deps.insert(code_end + j, f)
    for name, files in extra.items():
        deps = data["stages"][name].get("do", data["stages"][name])["deps"]
        for f in files:
            deps.remove(f)
    with dvc_yaml.open("w", encoding="utf-8") as fh:
        rt.dump(data, fh)
    return sum(len(v) for v in missing.values()) + sum(len(v) for v in extra.values())


def main() -> None:
    ap = argparse.ArgumentParser(prog="python -m tests.support.dvc_deps", description=__doc__.split("\n\n")[0])
    ap.add_argument("--write", action="store_true", help="add the missing deps to dvc.yaml")
    args = ap.parse_args()
    if args.write:
        print(f"changed {write_missing()} deps of dvc.yaml")
        return
    for name, files in missing_deps().items():
        print(f"{name} misses: {', '.join(files)}")
    for name, files in extra_deps().items():
        print(f"{name} need not list: {', '.join(files)}")


if __name__ == "__main__":
    main()
