"""Stage `prepare_models`: the DVC wiring (fast) and a real SmolLM2 materialization (slow)."""

from __future__ import annotations

import json

import pytest
import yaml

from sentidistill.models.registry import load_models_config
from sentidistill.paths import ROOT
from sentidistill.stages import prepare_models


def test_dvc_stage_is_wired():
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    stage = stages["prepare_models"]
    assert stage["foreach"] == "${models.materialize}"
    assert stage["do"]["cmd"] == "python -m sentidistill.stages.prepare_models ${item}"
    assert stage["do"]["outs"] == ["models/${item}"]
    for dep in stage["do"]["deps"]:
        assert (ROOT / dep).is_file(), dep
    cfg = load_models_config()
    assert {cfg.student, cfg.teacher} <= set(cfg.materialize)


def test_models_dir_is_git_ignored():
    assert "/*/" in (ROOT / "models" / ".gitignore").read_text().split()


def test_stage_main_resolves_role_and_materializes(tmp_path, monkeypatch):
    from sentidistill.stages import prepare_models as stage

    seen = {}
    monkeypatch.setattr(stage, "ensure_installed", lambda names, cfg: seen.setdefault("installed", names))
    monkeypatch.setattr(
        stage, "materialize", lambda name, spec, out, dtype: seen.update(name=name, out=out, dtype=dtype) or out
    )
    out = stage.main(["student", "--models-dir", str(tmp_path)])
    cfg = load_models_config()
    assert seen == {
        "installed": [cfg.student],
        "name": cfg.student,
        "out": tmp_path / cfg.student,
        "dtype": cfg.save_dtype,
    }
    assert out == tmp_path / cfg.student


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_materialize_smollm2_for_real(tmp_path):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from sentidistill.models.store import model_paths

    out = prepare_models.main(["smollm2-135m-instruct", "--models-dir", str(tmp_path)])
    paths = model_paths("smollm2-135m-instruct", tmp_path)
    assert paths.root == out and paths.gguf_path.stat().st_size == 98_362_432
    manifest = paths.manifest
    assert manifest["gguf_sha256"] == load_models_config().registry["smollm2-135m-instruct"].sha256
    assert manifest["architecture"] == "LlamaForCausalLM" and manifest["vocab_size"] == 49152
    assert 130e6 < manifest["n_params"] < 140e6 and manifest["chat_template"]

    gen = json.loads((paths.hf_dir / "generation_config.json").read_text())
    assert gen["do_sample"] is False
    assert not {"repetition_penalty", "temperature", "top_p", "top_k"} & set(gen)

    tok = AutoTokenizer.from_pretrained(paths.hf_dir)
    assert tok.chat_template and "<|im_start|>" in tok.chat_template
    model = AutoModelForCausalLM.from_pretrained(paths.hf_dir)
    assert model.dtype == torch.bfloat16
    assert model.get_output_embeddings().weight is model.get_input_embeddings().weight
    msgs = [{"role": "user", "content": "Is the review 'I loved this film' positive or negative?"}]
    inputs = tok.apply_chat_template(msgs, add_generation_prompt=True, return_tensors="pt", return_dict=True)
    with torch.no_grad():
        ids = model.generate(**inputs, max_new_tokens=12, do_sample=False)
    text = tok.decode(ids[0, inputs["input_ids"].shape[1] :], skip_special_tokens=True)
    assert text.strip(), "greedy generation from the converted model is empty"

    # second run: manifest matches, nothing is rebuilt
    mtime = (paths.hf_dir / "model.safetensors").stat().st_mtime_ns
    prepare_models.main(["smollm2-135m-instruct", "--models-dir", str(tmp_path)])
    assert (paths.hf_dir / "model.safetensors").stat().st_mtime_ns == mtime
