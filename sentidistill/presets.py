"""Parameter presets: ``presets/<name>.yaml`` are partial overrides of ``params.yaml``.

A preset holds only the keys it changes, in the same grouping as ``params.yaml``.
Merging is deep: mappings merge key by key; lists and scalars replace the base value;
a mapping that contains ``_replace: true`` replaces the base mapping as a whole (use it
to drop entries, e.g. the models ``sentibench.models`` evaluates).

    python -m sentidistill.presets list
    python -m sentidistill.presets check <name>            # validate params.yaml + preset
    python -m sentidistill.presets apply <name>            # rewrite params.yaml in place
    python -m sentidistill.presets apply <name> --out P    # write the merged file elsewhere
    python -m sentidistill.presets show <name>             # print the merged YAML

``apply`` edits ``params.yaml`` with ruamel.yaml's round-trip mode: comments and flow
style of untouched keys are kept; overridden keys keep their comments too. Presets stack
on the current ``params.yaml`` -- to go back to the default CPU configuration run
``git checkout params.yaml`` (``cpu`` is the identity preset: the committed default).
``apply --base-rev main`` merges onto ``params.yaml`` as committed at that git revision.

``check`` validates every parameter group that a stage reads, with the pydantic model
the stage itself uses: the groups are discovered by scanning ``stages/*.py`` and
``sentidistill/**/*.py`` for ``load_section("group", Model)`` / ``parse_section(...)``
calls (f-string groups in ``stages/`` such as ``f"{c}.policy"`` expand to every matching
key), so a new stage is checked without registering it here.
"""

from __future__ import annotations

import argparse
import copy
import importlib
import io
import re
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from sentidistill.io import write_text
from sentidistill.paths import PARAMS_FILE, ROOT

PRESETS_DIR = ROOT / "presets"
REPLACE_KEY = "_replace"


class PresetError(ValueError):
    """Unknown preset, malformed preset file or a merged configuration that fails validation."""


# --------------------------------------------------------------------------- merging


def preset_path(name: str, presets_dir: Path = PRESETS_DIR) -> Path:
    p = presets_dir / f"{name}.yaml"
    if not p.is_file():
        have = ", ".join(available(presets_dir)) or "none"
        raise PresetError(f"no preset {name!r}: {p} does not exist (available: {have})")
    return p


def available(presets_dir: Path = PRESETS_DIR) -> list[str]:
    return sorted(p.stem for p in presets_dir.glob("*.yaml")) if presets_dir.is_dir() else []


def load_preset(name: str, presets_dir: Path = PRESETS_DIR) -> dict[str, Any]:
    p = preset_path(name, presets_dir)
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise PresetError(f"{p} is not valid YAML: {exc}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise PresetError(f"{p} must be a mapping of params.yaml groups, got {type(data).__name__}")
    return data


def _strip_replace(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _strip_replace(v) for k, v in value.items() if k != REPLACE_KEY}
    if isinstance(value, list):
        return [_strip_replace(v) for v in value]
    return value


def deep_merge(base: Any, override: Any, _path: str = "") -> Any:
    """``override`` onto ``base`` (neither is modified). See the module docstring for the rules."""
    if isinstance(override, Mapping):
        if override.get(REPLACE_KEY) is True or not isinstance(base, Mapping):
            return _strip_replace(override)
        out = dict(copy.deepcopy(base))
        for k, v in override.items():
            if k == REPLACE_KEY:
                continue
            out[k] = deep_merge(base.get(k), v, f"{_path}.{k}" if _path else str(k)) if k in base else _strip_replace(v)
        return out
    return copy.deepcopy(override)


def unknown_keys(base: Any, override: Any, _path: str = "") -> list[str]:
    """Preset keys whose group does not exist in params.yaml (likely typos); new leaves inside
    an existing mapping are allowed (the stage's model decides whether they are valid)."""
    bad: list[str] = []
    if not isinstance(override, Mapping) or not isinstance(base, Mapping):
        return bad
    for k, v in override.items():
        if k == REPLACE_KEY:
            continue
        path = f"{_path}.{k}" if _path else str(k)
        if k not in base:
            if not _path:  # a new top-level group: no stage reads it
                bad.append(path)
            continue
        if isinstance(v, Mapping) and v.get(REPLACE_KEY) is not True:
            bad.extend(unknown_keys(base[k], v, path))
    return bad


def merged_params(name: str, base: Mapping[str, Any] | None = None, presets_dir: Path = PRESETS_DIR) -> dict[str, Any]:
    base = dict(base) if base is not None else read_params(PARAMS_FILE)
    return deep_merge(base, load_preset(name, presets_dir))


def read_params(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise PresetError(f"{path} must be a mapping of stage groups")
    return data


def base_text(base_rev: str | None, params_file: Path = PARAMS_FILE) -> str:
    if base_rev is None:
        if not Path(params_file).is_file():
            raise PresetError(
                f"{params_file} does not exist: --params takes an existing params.yaml (default: the repo's)"
            )
        return Path(params_file).read_text(encoding="utf-8")
    rel = (
        Path(params_file).resolve().relative_to(ROOT)
        if Path(params_file).resolve().is_relative_to(ROOT)
        else Path("params.yaml")
    )
    try:
        return subprocess.run(
            ["git", "show", f"{base_rev}:{rel.as_posix()}"], cwd=ROOT, check=True, capture_output=True, text=True
        ).stdout
    except subprocess.CalledProcessError as exc:
        raise PresetError(f"cannot read params.yaml at {base_rev!r}: {exc.stderr.strip()}") from None


# --------------------------------------------------------------------------- round-trip apply


def _rt_yaml():
    from ruamel.yaml import YAML

    y = YAML()  # round-trip: keeps comments, key order and flow style
    y.preserve_quotes = True
    y.width = 4096
    y.indent(mapping=2, sequence=4, offset=2)
    y.representer.add_representer(type(None), lambda r, _: r.represent_scalar("tag:yaml.org,2002:null", "null"))
    return y


def _rt_value(old: Any, new: Any) -> Any:
    """``new`` as a ruamel node, in the flow/block style of the value it replaces."""
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    old_flow = getattr(old, "fa", None)
    flow = bool(old_flow.flow_style()) if old_flow is not None else False
    if not isinstance(new, (Mapping, list)):
        return new
    leaf = all(not isinstance(v, (Mapping, list)) for v in (new.values() if isinstance(new, Mapping) else new))
    if isinstance(new, Mapping):
        node = CommentedMap()
        for k, v in new.items():
            node[k] = _rt_value(None, v)
    else:
        node = CommentedSeq(_rt_value(None, v) for v in new)
    # leaf collections (scalars only) in flow style, like params.yaml writes them
    if flow or leaf:
        node.fa.set_flow_style()
    else:
        node.fa.set_block_style()
    return node


def _rt_merge(node: Any, override: Mapping[str, Any]) -> None:
    for k, v in override.items():
        if k == REPLACE_KEY:
            continue
        old = node.get(k) if k in node else None
        if isinstance(v, Mapping) and v.get(REPLACE_KEY) is not True and isinstance(old, Mapping):
            _rt_merge(old, v)
        else:
            node[k] = _rt_value(old, _strip_replace(v))


def apply_text(base: str, override: Mapping[str, Any], header: str | None = None) -> str:
    y = _rt_yaml()
    doc = y.load(base)
    _rt_merge(doc, override)
    buf = io.StringIO()
    y.dump(doc, buf)
    text = buf.getvalue()
    if header:
        text = re.sub(r"\A(# preset: [^\n]*\n)+", "", text)
        text = f"# preset: {header}\n" + text
    return text


# --------------------------------------------------------------------------- validation


@dataclass(frozen=True)
class SectionCheck:
    section: str  # dotted group; '*' = every key at that level
    module: str
    cls: str


_CALL = re.compile(
    r"""(?:load_section|parse_section)\(\s*(f?)(["'])(?P<sec>[^"']+)\2\s*,\s*(?:(?P<cls1>[A-Z]\w*)\s*[,)]|[^,()]*(?:\([^()]*\))?[^,()]*,\s*(?P<cls2>[A-Z]\w*)\s*[,)])""",
)


def _module_name(path: Path, root: Path) -> str:
    """Import name of a repository file (``stages/x.py`` installs as ``sentidistill.stages.x``)."""
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts if parts[0] == "sentidistill" else ("sentidistill", *parts))


def discover_sections(root: Path = ROOT) -> list[SectionCheck]:
    """Every ``load_section("g", Model)`` / ``parse_section("g", data, Model)`` in stages/ and sentidistill/."""
    found: dict[tuple[str, str], SectionCheck] = {}
    files = sorted((root / "stages").glob("*.py")) + sorted((root / "sentidistill").rglob("*.py"))
    for f in files:
        if f.name in {"params.py", "presets.py"}:
            continue
        src = f.read_text(encoding="utf-8")
        for m in _CALL.finditer(src):
            sec = m.group("sec")
            if m.group(1):  # f-string: each {expr} matches any key
                if f.parent.name != "stages":  # library helpers re-validate merged data, not a group
                    continue
                sec = re.sub(r"\{[^}]*\}", "*", sec)
            cls = m.group("cls1") or m.group("cls2")
            found.setdefault((sec, cls), SectionCheck(sec, _module_name(f, root), cls))
    return sorted(found.values(), key=lambda s: (s.section, s.module))


def expand(section: str, params: Mapping[str, Any]) -> Iterator[tuple[str, Any]]:
    """(concrete dotted group, value) for a pattern that may contain '*' components."""

    def walk(node: Any, parts: list[str], done: list[str], wild: bool) -> Iterator[tuple[str, Any]]:
        if not parts:
            yield ".".join(done), node
            return
        head, rest = parts[0], parts[1:]
        if not isinstance(node, Mapping):
            return
        if head == "*":
            for k in node:
                yield from walk(node[k], rest, [*done, str(k)], True)
        elif head in node:
            yield from walk(node[head], rest, [*done, head], wild)
        elif not wild:  # under a wildcard, only the keys that have this child are meant
            yield ".".join([*done, *parts]), _MISSING

    yield from walk(params, section.split("."), [], False)


_MISSING = object()


def validate(params: Mapping[str, Any], sections: list[SectionCheck] | None = None) -> tuple[list[str], list[str]]:
    """(errors, checked groups) of ``params`` against every discovered stage model."""
    from sentidistill.params import ParamsError, parse_section

    errors: list[str] = []
    checked: list[str] = []
    for sc in sections if sections is not None else discover_sections():
        try:
            model = getattr(importlib.import_module(sc.module), sc.cls)
        except Exception as exc:  # noqa: BLE001 - report, keep checking the others
            errors.append(f"{sc.section}: cannot import {sc.module}.{sc.cls} to check it ({type(exc).__name__}: {exc})")
            continue
        for concrete, value in expand(sc.section, params):
            if value is _MISSING:
                errors.append(f"params.yaml: missing group '{concrete}' (read by {sc.module} as {sc.cls})")
                continue
            try:
                parse_section(concrete, value, model)
                checked.append(f"{concrete} ({sc.cls})")
            except ParamsError as exc:
                errors.append(str(exc))
    errors.extend(_cross_checks(params))
    return errors, checked


def _cross_checks(params: Mapping[str, Any]) -> list[str]:
    """Consistency that no single group can see: models the DAG depends on must be materialized."""
    errs: list[str] = []
    models = params.get("models", {}) if isinstance(params.get("models"), Mapping) else {}
    materialize = set(models.get("materialize") or [])
    registry = set((models.get("registry") or {}).keys())
    roles = {r: models.get(r) for r in ("teacher", "student") if models.get(r)}
    for role, name in roles.items():
        if name not in registry:
            errs.append(f"models.{role}: {name!r} is not in models.registry (have: {sorted(registry)})")
        elif name not in materialize:
            errs.append(f"models.{role}: {name!r} is not in models.materialize; dvc.yaml depends on models/{name}")
    base = ((params.get("classifier") or {}).get("train") or {}).get("base_model")
    if isinstance(base, str) and base in registry and base not in materialize:
        errs.append(
            f"classifier.train.base_model: {base!r} is not in models.materialize; dvc.yaml depends on models/{base}"
        )
    for entry, spec in ((params.get("sentibench") or {}).get("models") or {}).items():
        name = spec.get("model") if isinstance(spec, Mapping) else None
        target = roles.get(name, name)
        if target in registry and target not in materialize:
            errs.append(f"sentibench.models.{entry}.model: {target!r} is not in models.materialize")
    return errs


def check(name: str, base: Mapping[str, Any] | None = None, presets_dir: Path = PRESETS_DIR) -> list[str]:
    base = dict(base) if base is not None else read_params(PARAMS_FILE)
    override = load_preset(name, presets_dir)
    errors = [
        f"presets/{name}.yaml: unknown top-level group '{k}' (params.yaml has: {sorted(base)})"
        for k in unknown_keys(base, override)
    ]
    errs, _ = validate(deep_merge(base, override))
    return errors + errs


# --------------------------------------------------------------------------- CLI


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m sentidistill.presets", description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("list", help="available presets")
    helps = {
        "check": "validate params.yaml + the preset with every stage's own model",
        "apply": "rewrite params.yaml with the preset merged in (comments kept); then `dvc repro`",
        "show": "print the merged params.yaml, change nothing",
    }
    for cmd in ("check", "apply", "show"):
        p = sub.add_parser(cmd, help=helps[cmd], description=helps[cmd])
        p.add_argument("name", help="preset name (`list` shows them): presets/<name>.yaml")
        p.add_argument("--params", type=Path, default=PARAMS_FILE, help="base params.yaml (default: the repo's)")
        p.add_argument("--base-rev", default=None, help="merge onto params.yaml at this git revision")
        p.add_argument("--presets-dir", type=Path, default=PRESETS_DIR, help="where the presets live")
        if cmd == "apply":
            p.add_argument("--out", type=Path, default=None, help="write here instead of rewriting --params")
            p.add_argument("--no-check", action="store_true", help="skip validation")
    a = ap.parse_args(argv)
    if a.cmd == "list":
        for n in available():
            print(n)
        return 0
    try:
        text = base_text(a.base_rev, a.params)
        base = yaml.safe_load(text)
        override = load_preset(a.name, a.presets_dir)
        if a.cmd in ("check", "apply") and not getattr(a, "no_check", False):
            errors = check(a.name, base, a.presets_dir)
            if errors:
                print(f"preset {a.name!r}: {len(errors)} problem(s):", file=sys.stderr)
                for e in errors:
                    print(e if e.startswith("  ") else f"- {e}", file=sys.stderr)
                return 1
            if a.cmd == "check":
                _, checked = validate(deep_merge(base, override))
                print(f"preset {a.name!r}: OK ({len(checked)} parameter groups validated: {', '.join(checked)})")
                return 0
        if a.cmd == "show":
            print(apply_text(text, override), end="")
            return 0
        out = a.out or a.params
        new = apply_text(text, override, header=f"{a.name} (python -m sentidistill.presets apply {a.name})")
        if out.exists() and yaml.safe_load(new) == yaml.safe_load(out.read_text(encoding="utf-8")):
            # same values (the identity preset `cpu` on the committed params): leave the file alone,
            # so applying it never dirties params.yaml or the git tree
            print(f"{out} already holds preset {a.name!r}: unchanged")
            return 0
        write_text(out, new)
        print(f"wrote {out} (preset {a.name!r}); `dvc status` shows what it invalidates")
        return 0
    except PresetError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
