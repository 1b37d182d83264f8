"""export_student: the final student as a hub-style folder + GGUF files + a card with its results."""

from __future__ import annotations

import json

import yaml

from sentidistill.models.card import CardParams, UpstreamModel
from sentidistill.models.folder import copy_student
from sentidistill.models.gguf import GGUFParams
from sentidistill.training.export import ExportParams, export_student


def _res(avg, n=120):
    return {
        "datasets": {"sst2": {"f1": avg, "n_examples": n, "n_seeds": 1}, "imdb": {"f1": avg, "n_examples": 4}},
        "categories": {"BSA": avg},
        "avg": avg,
        "config": {"seeds": [0, 1, 2], "shots": {"sst2": 4, "imdb": 4}},
    }


def _source(tmp_path, tiny_llama):
    src = tmp_path / "student-icldist"
    copy_student(
        tiny_llama / "hf",
        src,
        {
            "name": "student-icldist",
            "stage": "icldist",
            "mode": "two_stage",
            "base_model": "tiny-llama",
            "started_from": "student-knowdist",
            "trained": True,
            "git_revision": "abc",
            "teacher": "t",
            "chat_template": False,
        },
    )
    return src


def _export(tmp_path, src, gguf: GGUFParams):
    out = tmp_path / "sentidistill-student"
    results = {"base-student": _res(40.0), "sentidistill-student": _res(52.5)}
    comparison = {
        "baseline": "base-student",
        "model": "sentidistill-student",
        "resamples": 2000,
        "confidence": 0.95,
        "mean": {"delta": 12.5, "ci_low": 3.0, "ci_high": 20.0, "baseline_f1": 40.0, "model_f1": 52.5, "n_datasets": 1},
        "datasets": {"sst2": {"n_examples": 120}},
    }
    params = ExportParams(
        gguf=gguf,
        card=CardParams(
            datasets=["stanfordnlp/imdb"],
            upstream={"tiny-llama": UpstreamModel(hub_id="org/tiny-llama", license="mit")},
        ),
    )
    manifest = export_student(
        src,
        out,
        results=results,
        baseline="base-student",
        comparison=comparison,
        model_entry="sentidistill-student",
        params=params,
        prompt_text="code",
        models_dir=tmp_path / "models",
        min_n=30,
    )
    return out, manifest


def test_export_is_a_flat_hf_folder_with_a_hub_card(tmp_path, tiny_llama):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    out, manifest = _export(tmp_path, _source(tmp_path, tiny_llama), GGUFParams(enabled=False))
    AutoModelForCausalLM.from_pretrained(out)  # no hf/ sub-folder
    AutoTokenizer.from_pretrained(out)
    card = (out / "README.md").read_text()
    meta = yaml.safe_load(card.split("---\n")[1])
    assert meta["base_model"] == "org/tiny-llama" and meta["datasets"] == ["stanfordnlp/imdb"]
    assert meta["license"] == "apache-2.0" and meta["language"] == ["en"] and meta["pipeline_tag"] == "text-generation"
    results = meta["model-index"][0]["results"]
    assert [r["dataset"]["type"] for r in results] == ["sst2"]  # imdb rests on 4 examples: not in the index
    assert results[0]["metrics"][0]["value"] == 52.5
    assert "seeds [0, 1, 2]" in card and "n = imdb 4, sst2 120" not in card and "sst2 120" in card
    assert "40.00† (" not in card and "| sentidistill-student |" in card and "(+12.50)" in card
    assert "delta **+12.50** [+3.00, +20.00]" in card
    assert 'Label:"' in card and "Please perform Sentiment Analysis task" in card  # the exact prompt format
    assert manifest["exported_from"] == "student-icldist" and manifest["hf_dir"] == "."
    assert manifest["sentibench"]["sentidistill-student"]["avg"] == 52.5 and manifest["gguf"] is None
    listed = {f["path"] for f in json.loads((out / "manifest.json").read_text())["files"]}
    assert "README.md" in listed and "config.json" in listed


def test_a_comparison_without_an_interval_says_so(tmp_path, tiny_llama):
    """The tiny configuration compares a handful of examples: the card says it cannot conclude."""
    from sentidistill.training.export import sentibench_section

    comparison = {
        "baseline": "b",
        "model": "m",
        "mean": {"delta": 0.0, "ci_low": None, "ci_high": None, "baseline_f1": 50.0, "model_f1": 50.0, "n_datasets": 2},
        "datasets": {"sst2": {"n_examples": 1}},
    }
    text = sentibench_section({"b": _res(50.0, n=1), "m": _res(50.0, n=1)}, "b", comparison, min_n=30)
    assert "delta **+0.00** (no interval: too few test examples" in text
