"""The model folder (sentidistill.models.folder): its layout and manifest bytes (golden files written by
the code before the folder had one owner), the file listings, and the three identities whose values
key caches on disk (pinned: a changed value would silently invalidate them)."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from sentidistill.models import folder
from tests.paper import golden

#: a student's manifest as training.run builds it (before the folder adds hf_dir, gguf, files)
STUDENT = {
    "format_version": 1,
    "name": "student-icldist",
    "stage": "icldist",
    "mode": "two_stage",
    "profile": "default",
    "base_model": "tiny-llama",
    "started_from": "student-knowdist",
    "teacher": "qwen",
    "chat_template": False,
    "git_revision": "abc123",
    "trained": True,
    "lineage": ["tiny-llama", "student-knowdist (knowdist)", "student-icldist (icldist)"],
    "data": {"rows_used": 7, "rows_trained": 5, "corpora": {"icldist": {"used": 5, "rows": 9}}},
    "hparams": {"epochs": 1.0, "learning_rate": 0.0001, "max_rows": None},
    "precision": {"used": "fp32", "requested": "auto", "reason": "no bf16 on this CPU"},
}


def _hf(root: Path) -> Path:
    """A starting model's ``hf/``: config, weights and its own card."""
    hf = root / "hf"
    hf.mkdir(parents=True)
    (hf / "config.json").write_text("{}")
    (hf / "model.safetensors").write_bytes(b"\x00" * 64)
    (hf / "README.md").write_text("the starting model's card")
    return hf


# ------------------------------------------------------------------------------ writing a student
def test_a_pass_through_student_has_the_golden_manifest_and_card(tmp_path):
    out = tmp_path / "models" / "student-icldist"
    folder.copy_student(_hf(tmp_path / "src"), out, STUDENT)
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*")) == [
        "hf",
        "hf/README.md",
        "hf/config.json",
        "hf/model.safetensors",
        "manifest.json",
    ]
    assert (out / folder.MANIFEST).read_text() == golden("model_folder/student_manifest.json")
    assert (out / "hf" / folder.CARD).read_text() == golden("model_folder/student_card.md")
    assert folder.student_card(STUDENT) == golden("model_folder/student_card.md")
    assert (
        folder.load_manifest(out)
        == folder.read_manifest(out)
        == json.loads(golden("model_folder/student_manifest.json"))
    )
    assert not list(out.parent.glob(".*"))  # no partial or old folder left beside it


def test_a_trained_student_is_saved_in_the_save_dtype_with_the_same_layout(tmp_path, tiny_model_paths):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from tests.sentidistill.training.conftest import make_tiny_llama

    tok_dir = tiny_model_paths.hf_dir  # the student's tokenizer; the weights are a random 1-layer Llama
    model = AutoModelForCausalLM.from_pretrained(make_tiny_llama(tmp_path / "models", tok_dir) / "hf")
    model.config.use_cache = False
    out = tmp_path / "student-knowdist"
    folder.write_student(model, AutoTokenizer.from_pretrained(tok_dir), out, STUDENT, "bfloat16")
    man = folder.load_manifest(out)
    assert man["hf_dir"] == "hf" and man["gguf"] is None and man["name"] == "student-icldist"
    on_disk = sorted(p for p in (out / "hf").iterdir())
    assert man["files"] == [{"path": f"hf/{p.name}", "bytes": p.stat().st_size} for p in on_disk]
    assert (out / "hf" / folder.CARD).read_text() == golden("model_folder/student_card.md")
    saved = AutoModelForCausalLM.from_pretrained(out / "hf")
    assert saved.config.use_cache and saved.dtype == torch.bfloat16


def test_a_final_card_replaces_the_default_card_after_the_manifest_lists_it(tmp_path):
    out = tmp_path / "student"
    folder.copy_student(_hf(tmp_path / "src"), out, STUDENT, card="# final card\n")
    assert (out / "hf" / "README.md").read_text() == "# final card\n"
    listed = {f["path"]: f["bytes"] for f in folder.load_manifest(out)["files"]}
    assert listed["hf/README.md"] == len(folder.student_card(STUDENT).encode())


def test_a_student_card_carries_its_sentibench_section_after_the_mark():
    card = folder.student_card(STUDENT, "| model | F1 |")
    assert card.endswith(f"## SentiBench\n\n{folder.SENTIBENCH_MARK}\n| model | F1 |\n")
    untrained = folder.student_card({**STUDENT, "precision": None, "data": {}, "hparams": {}})
    assert "- precision:" not in untrained and "- training rows: 0 (corpus rows used )" in untrained


# ------------------------------------------------------------------------------ manifest and listing
def test_list_files_is_sorted_relative_to_the_root_and_skips_by_name(tmp_path):
    (tmp_path / "hf" / "sub").mkdir(parents=True)
    for rel, text in (
        ("hf/b.json", "bb"),
        ("hf/a.bin", "a"),
        ("hf/sub/x.txt", "xyz"),
        ("hf/manifest.json", "{}"),
        ("model.gguf", "GGUF"),
        ("manifest.json", "{}"),
    ):
        (tmp_path / rel).write_text(text)
    flat = [{"path": "hf/a.bin", "bytes": 1}, {"path": "hf/b.json", "bytes": 2}]
    # a student's listing: the top of hf/ only, a manifest.json inside it included (a flat folder trained on)
    assert folder.list_files(tmp_path, "hf", recursive=False) == [
        flat[0],
        flat[1],
        {"path": "hf/manifest.json", "bytes": 2},
    ]
    # materialize's: everything but a manifest at any depth
    assert folder.list_files(tmp_path, skip={folder.MANIFEST}) == [
        *flat,
        {"path": "hf/sub/x.txt", "bytes": 3},
        {"path": "model.gguf", "bytes": 4},
    ]
    assert [f["path"] for f in folder.list_files(tmp_path)] == [
        "hf/a.bin",
        "hf/b.json",
        "hf/manifest.json",
        "hf/sub/x.txt",
        "manifest.json",
        "model.gguf",
    ]


def test_a_missing_or_broken_manifest(tmp_path):
    assert folder.read_manifest(tmp_path) is None
    with pytest.raises(FileNotFoundError):
        folder.load_manifest(tmp_path)
    (tmp_path / folder.MANIFEST).write_text("{not json")
    assert folder.read_manifest(tmp_path) is None
    with pytest.raises(json.JSONDecodeError):
        folder.load_manifest(tmp_path)
    folder.write_manifest(tmp_path, {"b": 1, "a": [2]})
    assert (tmp_path / folder.MANIFEST).read_text() == '{\n  "a": [\n    2\n  ],\n  "b": 1\n}\n'  # key-sorted


# ------------------------------------------------------------------------------ identities (pinned values)
def test_model_identity_hashes_the_manifest_bytes_or_the_file_names_and_sizes(tmp_path):
    hf = _hf(tmp_path / "m")
    (hf / "README.md").write_text("card")
    assert folder.model_identity(hf) == "49dd8249239e39bbc5c9fd63a1618c5ed4faa29565a57b46c27f2f79a521be93"
    (tmp_path / "m" / folder.MANIFEST).write_text('{"name": "m"}\n')
    assert folder.model_identity(hf) == hashlib.sha256(b'{"name": "m"}\n').hexdigest()
    assert folder.model_identity(hf) == "d336c597768ad06fa1f9959999f920be95f1e5ed0aacc22b3903f416213ab0ba"


def test_files_digest_hashes_the_manifests_file_list():
    files = [{"path": "hf/config.json", "bytes": 2}, {"path": "hf/model.safetensors", "bytes": 64}]
    assert folder.files_digest({"files": files, "name": "any"}) == (
        "c15251e71c4283b18f58b7885f173fcc91a445dbc438f3538d216afce2a4da1f"
    )
    assert folder.files_digest({}) == "4f53cda18c2baa0c0354bb5f9a3ecbe5ed12ab4d8e11ba873c2f11161202b945"


def test_weights_digest_follows_content_not_the_card(tmp_path):
    hf = _hf(tmp_path / "m")
    (hf / "README.md").write_text("card")
    assert folder.weights_digest(hf) == "053d4ff90e508f8a42cf0838e9a78d2184710c89501f39b4abc4f19adb6a5380"
    (tmp_path / "m" / folder.MANIFEST).write_text('{"name": "m"}\n')
    assert folder.weights_digest(tmp_path / "m") == "7042355d2a4ab0b94f4df1b347d8902d51f08d2c64fdce49e530530bf56f04f7"
    first = folder.weights_digest(hf)
    assert first and folder.weights_digest(hf) == first
    (hf / "README.md").write_text("card with other results")  # the model card is not the model
    assert folder.weights_digest(hf) == first
    (hf / "model.safetensors").write_bytes(b"\x01" + b"\x00" * 63)  # retrained in place, same size
    assert folder.weights_digest(hf) != first
    gguf = tmp_path / "m.gguf"
    gguf.write_bytes(b"GGUF")
    assert folder.weights_digest(gguf) == hashlib.sha256(b"GGUF").hexdigest()  # a GGUF: its published sha256
    assert folder.weights_digest(tmp_path / "m.gguf.missing") is None
    # a model inside a hub cache (~/.cache/huggingface/...) still hashes its own files
    cached = tmp_path / ".cache" / "hub" / "hf"
    shutil.copytree(hf, cached)
    assert folder.weights_digest(cached) == folder.weights_digest(hf)
    (cached / ".cache").mkdir()
    (cached / ".cache" / "download.lock").write_text("x")  # the hub's own bookkeeping inside the folder
    assert folder.weights_digest(cached) == folder.weights_digest(hf)
    assert folder.weights_digest("HuggingFaceTB/SmolLM2-135M-Instruct") is None  # a hub id: its name is the identity
