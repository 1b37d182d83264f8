"""Assembly, verification, idempotence and atomicity of materialize() (no real model here)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from sentidistill.models import materialize as mat
from sentidistill.models.materialize import (
    ModelDownloadError,
    Sha256MismatchError,
    clean_generation_config,
    concat_verify,
    materialize,
)
from sentidistill.models.registry import HfSource, LocalSource, PypiGgufSource, parse_models_config
from sentidistill.models.store import ModelNotMaterializedError, model_paths


def _write_parts(tmp_path: Path, chunks: list[bytes]) -> list[Path]:
    paths = []
    for i, chunk in enumerate(chunks, start=1):
        p = tmp_path / f"part{i:02d}.bin"
        p.write_bytes(chunk)
        paths.append(p)
    return paths


def test_concat_verify_streams_parts_in_order(tmp_path, monkeypatch):
    monkeypatch.setattr(mat, "_CHUNK", 7)  # many small reads per part
    chunks = [b"alpha-", b"beta-", b"gamma" * 10]
    data = b"".join(chunks)
    dest = tmp_path / "out" / "model.gguf"
    got = concat_verify(_write_parts(tmp_path, chunks), dest, hashlib.sha256(data).hexdigest())
    assert dest.read_bytes() == data and got == hashlib.sha256(data).hexdigest()
    assert list(dest.parent.iterdir()) == [dest]


def test_concat_verify_mismatch_leaves_no_partial_file(tmp_path):
    parts = _write_parts(tmp_path, [b"one", b"two"])
    dest = tmp_path / "out" / "model.gguf"
    wrong = hashlib.sha256(b"twoone").hexdigest()  # right bytes, wrong order
    with pytest.raises(Sha256MismatchError) as exc:
        concat_verify(parts, dest, wrong)
    msg = str(exc.value)
    assert wrong in msg and hashlib.sha256(b"onetwo").hexdigest() in msg and "reinstall" in msg
    assert list(dest.parent.iterdir()) == []


class _Cfg:
    eos_token_id = 7
    bos_token_id = 1


class _Model:
    def __init__(self, gen):
        self.generation_config = gen
        self.config = _Cfg()


class _Tok:
    eos_token_id = 2
    bos_token_id = 1
    pad_token_id = None


def test_clean_generation_config_is_greedy_and_penalty_free():
    from transformers import GenerationConfig

    noisy = GenerationConfig(
        do_sample=True,
        temperature=0.7,
        top_p=0.8,
        top_k=20,
        repetition_penalty=1.1,
        eos_token_id=[2, 9],
        bos_token_id=1,
    )
    clean = clean_generation_config(_Model(noisy), _Tok())
    assert clean.do_sample is False
    assert clean.repetition_penalty in (None, 1.0)
    assert clean.temperature in (None, 1.0) and clean.top_p in (None, 1.0) and clean.top_k in (None, 50)
    assert clean.eos_token_id == [2, 9, 7] and clean.bos_token_id == 1 and clean.pad_token_id == 2
    assert "repetition_penalty" not in clean.to_diff_dict() and "temperature" not in clean.to_diff_dict()


def _fake_convert(calls):
    def convert(gguf_path, hf_dir, dtype, *, tie_word_embeddings):
        calls.append((Path(gguf_path).read_bytes(), dtype, tie_word_embeddings))
        hf_dir.mkdir(parents=True)
        (hf_dir / "config.json").write_text("{}")
        (hf_dir / "model.safetensors").write_bytes(b"w" * 10)
        return {
            "architecture": "FakeForCausalLM",
            "n_params": 10,
            "vocab_size": 3,
            "dtype": dtype,
            "timings_s": {"save": 0.1},
        }

    return convert


def test_materialize_is_idempotent_and_atomic(tmp_path, monkeypatch, fake_parts):
    spec, data = fake_parts
    calls: list = []
    monkeypatch.setattr(mat, "convert_gguf", _fake_convert(calls))
    out = tmp_path / "models" / "fake"
    assert materialize("fake", spec, out, "bfloat16") == out
    assert calls == [(data, "bfloat16", False)]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["gguf_sha256"] == spec.sha256 and manifest["name"] == "fake"
    assert {f["path"] for f in manifest["files"]} == {"model.gguf", "hf/config.json", "hf/model.safetensors"}
    assert sorted(p.name for p in out.parent.iterdir()) == ["fake"]  # no temp dirs left
    # the folder is a DVC output: no run-dependent bytes (timings), so a rebuild hashes the same
    assert "timings_s" not in manifest

    materialize("fake", spec, out, "bfloat16")
    assert len(calls) == 1  # manifest matches: nothing done

    materialize("fake", spec, out, "float32")  # dtype changed: rebuilt
    assert len(calls) == 2 and json.loads((out / "manifest.json").read_text())["dtype"] == "float32"

    (out / "hf" / "model.safetensors").write_bytes(b"truncated")  # damaged folder: rebuilt
    materialize("fake", spec, out, "float32")
    assert len(calls) == 3 and sorted(p.name for p in out.parent.iterdir()) == ["fake"]


def test_killed_conversion_leaves_no_folder_and_resumes(tmp_path, monkeypatch, fake_parts):
    spec, data = fake_parts
    out = tmp_path / "models" / "fake"

    def killed(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(mat, "convert_gguf", killed)
    with pytest.raises(KeyboardInterrupt):
        materialize("fake", spec, out)
    assert not out.exists()
    with pytest.raises(ModelNotMaterializedError):
        model_paths("fake", tmp_path / "models", parse_models_config(_registry(spec)))

    calls: list = []
    monkeypatch.setattr(mat, "convert_gguf", _fake_convert(calls))
    monkeypatch.setattr(mat, "concat_verify", lambda *a: pytest.fail("the verified GGUF should be reused"))
    materialize("fake", spec, out)
    assert calls[0][0] == data and (out / "model.gguf").read_bytes() == data


def _registry(spec):
    return {"registry": {"fake": spec.model_dump()}, "student": "fake", "teacher": "fake"}


def test_sha256_mismatch_from_packages(tmp_path, monkeypatch, fake_parts):
    spec, _ = fake_parts
    bad = spec.model_copy(update={"sha256": "0" * 64})
    monkeypatch.setattr(mat, "convert_gguf", _fake_convert([]))
    out = tmp_path / "models" / "fake"
    with pytest.raises(Sha256MismatchError, match="expected 0000"):
        materialize("fake", bad, out)
    assert not out.exists()
    assert not (tmp_path / "models" / ".fake.partial" / "model.gguf").exists()


def test_model_paths(tmp_path, monkeypatch, fake_parts):
    spec, _ = fake_parts
    cfg = parse_models_config(_registry(spec))
    with pytest.raises(ModelNotMaterializedError, match=r"run `dvc repro prepare_models@fake`"):
        model_paths("student", tmp_path, cfg)
    monkeypatch.setattr(mat, "convert_gguf", _fake_convert([]))
    materialize("fake", spec, tmp_path / "fake")
    paths = model_paths("student", tmp_path, cfg)
    assert paths.hf_dir == tmp_path / "fake" / "hf" and paths.gguf_path == tmp_path / "fake" / "model.gguf"
    assert paths.manifest["architecture"] == "FakeForCausalLM"
    (tmp_path / "fake" / "hf" / "config.json").unlink()
    with pytest.raises(ModelNotMaterializedError, match="incomplete"):
        model_paths("fake", tmp_path, cfg)


def test_hf_source_offline_error_is_clear(tmp_path, monkeypatch):
    import transformers

    def offline(*a, **k):
        raise OSError("We couldn't connect to 'https://huggingface.co'")

    monkeypatch.setattr(transformers.AutoTokenizer, "from_pretrained", offline)
    with pytest.raises(ModelDownloadError, match=r"could not fetch 'org/model'.*source: local"):
        materialize("m", HfSource(source="hf", id="org/model"), tmp_path / "m")
    assert not (tmp_path / "m").exists()


def test_local_gguf_is_verified(tmp_path, monkeypatch):
    gguf = tmp_path / "w.gguf"
    gguf.write_bytes(b"GGUF-bytes")
    calls: list = []
    monkeypatch.setattr(mat, "convert_gguf", _fake_convert(calls))
    spec = LocalSource(source="local", path=str(gguf), sha256=hashlib.sha256(b"GGUF-bytes").hexdigest())
    materialize("w", spec, tmp_path / "models" / "w")
    assert calls[0][0] == b"GGUF-bytes"
    with pytest.raises(Sha256MismatchError):
        materialize("w2", spec.model_copy(update={"sha256": "1" * 64}), tmp_path / "models" / "w2")


def test_pypi_spec_roundtrips_through_manifest(tmp_path, monkeypatch, fake_parts):
    spec, _ = fake_parts
    monkeypatch.setattr(mat, "convert_gguf", _fake_convert([]))
    out = materialize("fake", spec, tmp_path / "fake")
    again = PypiGgufSource.model_validate(json.loads((out / "manifest.json").read_text())["spec"])
    assert again == spec
