"""The import picture of docs/CONVENTIONS.md, checked on the source: schemas/ at the foot,
services that know no task, no import cycle, and packaging that installs no top-level
``schemas``/``stages`` package."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

from tests.support.dvc_deps import ROOT, module_file, package_dirs

TASK_AREAS = ("knowdist", "icldist", "classifier", "sentibench", "training", "teacher", "corpus")


def _modules() -> dict[str, Path]:
    """Import name -> file, for every module of the installed packages."""
    out = {}
    for package, folder in package_dirs().items():
        for f in sorted((ROOT / folder).rglob("*.py")):
            rel = f.relative_to(ROOT / folder).with_suffix("").parts
            rel = rel[:-1] if rel[-1] == "__init__" else rel
            name = ".".join((package, *rel))
            out.setdefault(name, f)
    return out


def _imports(path: Path, *, top_level_only: bool = False) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    names: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
            names |= {f"{node.module}.{a.name}" for a in node.names}
    return names


def test_schemas_import_nothing_from_the_areas_above_them():
    bad = [
        f"{f.name}: {n}"
        for f in sorted((ROOT / "schemas").glob("*.py"))
        for n in _imports(f)
        if n.startswith("sentidistill") and not n.startswith("sentidistill.schemas")
    ]
    assert bad == []


def test_engines_know_no_task():
    bad = [
        f"{f.name}: {n}"
        for f in sorted((ROOT / "sentidistill" / "engines").glob("*.py"))
        for n in _imports(f)
        if n.startswith(tuple(f"sentidistill.{a}" for a in TASK_AREAS))
    ]
    assert bad == []


def test_no_import_cycle_at_module_level():
    modules = _modules()
    graph = {
        name: {m for m in _imports(f, top_level_only=True) if m in modules and m != name} for name, f in modules.items()
    }
    state: dict[str, int] = {}  # 1: on the stack, 2: done
    cycles: list[list[str]] = []

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append([*stack[stack.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt, [*stack, nxt])
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert cycles == []


def test_no_code_imports_top_level_schemas_or_stages():
    bad = []
    for folder in ("sentidistill", "schemas", "stages", "tests", "bench", "scripts"):
        for f in sorted((ROOT / folder).rglob("*.py")):
            if "golden" in f.parts:
                continue
            bad += [f"{f.relative_to(ROOT)}: {n}" for n in _imports(f) if n.split(".")[0] in ("schemas", "stages")]
    assert bad == []


def test_every_package_folder_is_installed_under_sentidistill():
    setup = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    listed = set(setup["packages"])
    on_disk = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "sentidistill").rglob("__init__.py")} | {
        "sentidistill.schemas",
        "sentidistill.stages",
    }
    assert listed == on_disk
    assert all(p.startswith("sentidistill") for p in listed)
    assert module_file("sentidistill.schemas.teacher") == ROOT / "schemas" / "teacher.py"
    assert module_file("sentidistill.stages.train_student") == ROOT / "stages" / "train_student.py"
