"""Training runs: a tiny random Llama (fast) for stages, modes and resume; the real
SmolLM2-135M for a 2-step run whose output loads with AutoModelForCausalLM (slow)."""

from __future__ import annotations

import copy
import csv
import json
import shutil

import pytest

from sentidistill.params import load_params
from sentidistill.training.config import load_training_params
from sentidistill.training.run import run_stage


def _cfg(base_model: str, mode: str = "two_stage", **stage_updates):
    data = copy.deepcopy(load_params()["training"])
    data.update(profile="default", mode=mode, base_model=base_model, save_steps=1, save_total_limit=5)
    for stage in ("knowdist", "icldist"):
        data[stage].update(
            epochs=1,
            batch_size=1,
            per_device_batch_size=1,
            precision="fp32",
            max_length=256,
            warmup_ratio=0.0,
            max_rows=None,
            **stage_updates,
        )
    return load_training_params({"training": data})


def _dirs(tmp_path, models_root):
    models = tmp_path / "models"
    models.mkdir(exist_ok=True)
    if not (models / models_root.name).exists():
        shutil.copytree(models_root, models / models_root.name)
    return dict(
        models_dir=models, cache_dir=tmp_path / "cache", plots_dir=tmp_path / "plots", metrics_dir=tmp_path / "metrics"
    )


def test_two_stages_write_model_folders_plots_metrics(tmp_path, tiny_llama, corpora):
    from transformers import AutoModelForCausalLM

    cfg = _cfg(tiny_llama.name)
    d = _dirs(tmp_path, tiny_llama)
    live = tmp_path / "dvclive"
    m1 = run_stage("knowdist", cfg, teacher="fake-teacher", corpus_paths=corpora, live_dir=live / "knowdist", **d)
    m2 = run_stage("icldist", cfg, teacher="fake-teacher", corpus_paths=corpora, live_dir=live / "icldist", **d)
    assert m1["global_step"] == 5 and m2["global_step"] == 5  # 5 kept rows each, batch 1, 1 epoch
    for stage, started in (("knowdist", "tiny-llama"), ("icldist", "student-knowdist")):
        root = d["models_dir"] / f"student-{stage}"
        man = json.loads((root / "manifest.json").read_text())
        assert man["trained"] and man["base_model"] == "tiny-llama" and man["started_from"] == started
        assert man["data"]["rows_trained"] == 5 and man["teacher"] == "fake-teacher"
        assert man["git_revision"] and man["hparams"]["learning_rate"] == cfg.stage(stage).learning_rate
        card = (root / "hf" / "README.md").read_text()
        assert "base model: `tiny-llama`" in card and "fake-teacher" in card and "## SentiBench" in card
        AutoModelForCausalLM.from_pretrained(root / "hf")
        # DVCLive's log (transformers' callback): one row per optimizer step
        rows = list(csv.DictReader((live / stage / "plots/metrics/loss.tsv").open(), delimiter="\t"))
        assert [int(r["step"]) for r in rows] == [0, 1, 2, 3, 4] and all(float(r["loss"]) > 0 for r in rows)
        lr = list(csv.DictReader((live / stage / "plots/metrics/learning_rate.tsv").open(), delimiter="\t"))
        assert len(lr) == 5 and all(float(r["learning_rate"]) > 0 for r in lr)
        assert (d["plots_dir"] / f"{stage}.png").stat().st_size > 0 and (d["plots_dir"] / f"{stage}.svg").exists()
        assert json.loads((d["metrics_dir"] / f"{stage}.json").read_text())["trained"] is True
    man2 = json.loads((d["models_dir"] / "student-icldist" / "manifest.json").read_text())
    assert man2["lineage"] == ["tiny-llama", "student-knowdist (knowdist)", "student-icldist (icldist)"]
    # model_paths / the eval engine's _locate accept the pipeline-built folder by name
    from sentidistill.models.store import model_paths

    assert model_paths("student-icldist", d["models_dir"]).hf_dir == d["models_dir"] / "student-icldist" / "hf"


def test_unified_mode_trains_once_on_merged_data(tmp_path, tiny_llama, corpora):
    cfg = _cfg(tiny_llama.name, mode="unified")
    d = _dirs(tmp_path, tiny_llama)
    m1 = run_stage("knowdist", cfg, corpus_paths=corpora, **d)
    m2 = run_stage("icldist", cfg, corpus_paths=corpora, **d)
    assert m1["global_step"] == 10 and m1["rows"]["rows_used"] == 10
    assert m2 == {"stage": "icldist", "trained": False, "mode": "unified", "wall_seconds": m2["wall_seconds"]}
    man = json.loads((d["models_dir"] / "student-icldist" / "manifest.json").read_text())
    assert man["trained"] is False and man["started_from"] == "student-knowdist"
    a = (d["models_dir"] / "student-knowdist" / "hf" / "model.safetensors").read_bytes()
    assert a == (d["models_dir"] / "student-icldist" / "hf" / "model.safetensors").read_bytes()


def test_resume_from_last_checkpoint(tmp_path, tiny_llama, corpora):
    cfg = _cfg(tiny_llama.name)
    d = _dirs(tmp_path, tiny_llama)
    live = tmp_path / "dvclive" / "knowdist"
    part = run_stage("knowdist", cfg, corpus_paths=corpora, stop_after_steps=2, live_dir=live, **d)
    assert part["interrupted"] and part["global_step"] == 2
    assert not (d["models_dir"] / "student-knowdist").exists()
    ckpts = sorted(p.name for p in (d["cache_dir"] / "knowdist").glob("*/checkpoint-*"))
    assert ckpts == ["checkpoint-1", "checkpoint-2"]
    resumed = run_stage("knowdist", cfg, corpus_paths=corpora, live_dir=live, **d)
    assert resumed["resumed_from"] == "checkpoint-2" and resumed["global_step"] == 5
    assert not list((d["cache_dir"] / "knowdist").glob("*/checkpoint-*"))  # finished: resume points removed
    # same losses as an uninterrupted run (same fingerprint, separate cache)
    d2 = {**d, "cache_dir": tmp_path / "cache2", "plots_dir": tmp_path / "plots2", "metrics_dir": tmp_path / "m2"}
    full = run_stage("knowdist", cfg, corpus_paths=corpora, **d2)
    assert full["resumed_from"] is None
    assert resumed["last_loss"] == pytest.approx(full["last_loss"], rel=1e-4)
    rows = list(csv.DictReader((live / "plots/metrics/loss.tsv").open(), delimiter="\t"))
    steps = [int(r["step"]) for r in rows]  # DVCLive's log continues across the resume: 5 losses,
    assert len(steps) == 5 and steps == sorted(set(steps))  # no step logged twice (its step = log calls)


def test_changed_data_starts_fresh(tmp_path, tiny_llama, corpora):
    from tests.sentidistill.training.conftest import make_knowdist

    cfg = _cfg(tiny_llama.name, max_steps=1)
    cfg = cfg.model_copy(update={"keep_checkpoints": True})
    d = _dirs(tmp_path, tiny_llama)
    a = run_stage("knowdist", cfg, corpus_paths=corpora, **d)
    make_knowdist(corpora["knowdist"], n=7)
    b = run_stage("knowdist", cfg, corpus_paths=corpora, **d)
    assert a["fingerprint"] != b["fingerprint"] and b["resumed_from"] is None
    kept = sorted(p.parent.name for p in (d["cache_dir"] / "knowdist").glob("*/checkpoint-*"))
    assert kept == sorted([a["fingerprint"][:16], b["fingerprint"][:16]])  # keep_checkpoints: true keeps them


@pytest.mark.slow
def test_real_smollm2_short_run_loads(tmp_path, tiny_model_paths, corpora):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    models = tmp_path / "models"
    models.mkdir()
    (models / "smollm2-135m-instruct").symlink_to(tiny_model_paths.root)
    cfg = _cfg("smollm2-135m-instruct", max_steps=2)
    d = dict(models_dir=models, cache_dir=tmp_path / "cache", plots_dir=tmp_path / "plots", metrics_dir=tmp_path / "m")
    m = run_stage("knowdist", cfg, corpus_paths=corpora, **d)
    assert m["global_step"] == 2 and m["last_loss"] is not None
    hf = models / "student-knowdist" / "hf"
    model = AutoModelForCausalLM.from_pretrained(hf)
    tok = AutoTokenizer.from_pretrained(hf)
    assert model.config.model_type == "llama" and tok.chat_template
    assert abs(sum(p.numel() for p in model.parameters()) - 134_515_008) < 1_000


def test_demo_label_loss_trains_the_pretokenized_rows(tmp_path, tiny_llama, corpora):
    """training.demo_label_loss runs the ICLDist stage on pre-tokenized rows (input_ids + completion_mask)."""
    cfg = _cfg(tiny_llama.name).model_copy(update={"demo_label_loss": True, "chat_template": False})
    d = _dirs(tmp_path, tiny_llama)
    run_stage("knowdist", cfg, corpus_paths=corpora, **d)
    m = run_stage("icldist", cfg, corpus_paths=corpora, **d)
    assert m["global_step"] == 5 and m["rows"]["rows_trained"] == 5
    assert m["rows"]["loss_tokens"] >= 5 and "demo_label_targets" in m["rows"]


def test_interpolation_saves_the_point_between_start_and_trained_weights(tmp_path, tiny_llama):
    import torch
    from transformers import AutoModelForCausalLM

    from sentidistill.training.sft import interpolate_weights

    start = AutoModelForCausalLM.from_pretrained(tiny_llama / "hf", dtype=torch.float32)
    trained = AutoModelForCausalLM.from_pretrained(tiny_llama / "hf", dtype=torch.float32)
    with torch.no_grad():
        for p in trained.parameters():
            p.add_(1.0)
    mid = interpolate_weights(trained, tiny_llama / "hf", 0.25)
    for (name, a), b in zip(start.state_dict().items(), mid.state_dict().values()):
        assert torch.allclose(b, a + 0.25), name
    assert interpolate_weights(start, tiny_llama / "hf", 1.0) is start


def test_freeze_embeddings_keeps_the_embedding_and_head_and_trains_the_rest(tmp_path, tiny_llama, corpora):
    """training.<stage>.freeze_embeddings: the tied embedding/LM head leave the stage unchanged, other weights move."""
    import torch
    from safetensors.torch import load_file

    cfg = _cfg(tiny_llama.name, freeze_embeddings=True)
    d = _dirs(tmp_path, tiny_llama)
    m = run_stage("knowdist", cfg, corpus_paths=corpora, **d)
    assert m["global_step"] > 0
    start = load_file(str(tiny_llama / "hf" / "model.safetensors"))
    trained = load_file(str(d["models_dir"] / "student-knowdist" / "hf" / "model.safetensors"))
    emb = "model.embed_tokens.weight"
    assert torch.equal(trained[emb].float(), start[emb].float())
    moved = [k for k in start if k != emb and not torch.equal(trained[k].float(), start[k].float())]
    assert moved, "no other weight was trained"


def test_freeze_embeddings_counts_a_tied_matrix_once(tiny_llama):
    import torch
    from transformers import AutoModelForCausalLM

    from sentidistill.training.sft import freeze_embeddings

    model = AutoModelForCausalLM.from_pretrained(tiny_llama / "hf", dtype=torch.float32)
    n = freeze_embeddings(model)
    assert n == model.get_input_embeddings().weight.numel()
    assert not model.lm_head.weight.requires_grad
    assert any(p.requires_grad for p in model.parameters())
