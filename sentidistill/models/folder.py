"""The model folder: its names, manifest, atomic write, student card and identity, in one place.

Two layouts, told apart by the manifest's ``hf_dir``:

* ``models/<name>/`` (``hf_dir: hf``): ``hf/`` holds the transformers files (``from_pretrained(root / "hf")``)
  and the card ``hf/README.md``; ``manifest.json`` beside it says what the folder is and lists its files;
  a GGUF source adds ``model.gguf``. Written by :mod:`sentidistill.models.materialize` (registry models)
  and by :func:`write_student` / :func:`copy_student` (the students a training stage writes).
* a flat folder (``hf_dir: .``): the transformers files at the top with ``README.md`` (+ ``manifest.json``,
  ``gguf/``): the exported student (:mod:`sentidistill.training.export`) and the classifier
  (:mod:`sentidistill.classifier.train`, whose record is ``training_summary.json``, no manifest).

Every writer fills a partial folder beside its target and swaps it in whole (``with atomic_folder(out) as
tmp``, :mod:`sentidistill.io`): a kill or a full disk leaves the previous folder or none. The git revision
a manifest records comes from :func:`sentidistill.provenance.git_revision`.

Three identities are computed from a folder; each feeds keys that are stored on disk (checkpoint folders,
evaluation and teacher caches), so their values must never change: a changed value silently invalidates
every key built on it. They differ on purpose and are not interchangeable: :func:`model_identity` (cheap,
from the manifest), :func:`files_digest` (the manifest's file list) and :func:`weights_digest` (the bytes).
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

from sentidistill.hashing import sha256_file
from sentidistill.io import atomic_folder, write_json, write_text

HF_DIR = "hf"  # the transformers files of a models/<name>/ folder
FLAT = "."  # manifest["hf_dir"] of a flat folder: the transformers files sit at its top
MANIFEST = "manifest.json"
CARD = "README.md"
SENTIBENCH_MARK = "<!-- sentibench -->"  # where a student card's SentiBench section starts


# ----------------------------------------------------------------------------------------- manifest
def read_manifest(root: Path) -> dict[str, Any] | None:
    """``root/manifest.json``, or None when it is missing or not JSON (the folder is not usable as it is)."""
    path = root / MANIFEST
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None


def load_manifest(root: Path) -> dict[str, Any]:
    """``root/manifest.json`` of a folder that must have one (FileNotFoundError, a JSON error otherwise)."""
    return json.loads((root / MANIFEST).read_text(encoding="utf-8"))


def write_manifest(root: Path, manifest: Mapping[str, Any]) -> None:
    """``root/manifest.json`` (key-sorted, atomic: :func:`sentidistill.io.write_json`)."""
    write_json(root / MANIFEST, manifest)


def list_files(root: Path, under: str = FLAT, *, recursive: bool = True, skip: Collection[str] = ()) -> list[dict]:
    """The manifest's ``files``: ``{"path", "bytes"}`` of each file in ``root/under`` (its sub-folders too
    unless ``recursive`` is False), sorted by path, paths relative to ``root``; files named in ``skip`` at
    any depth are left out."""
    base = root / under
    found = base.rglob("*") if recursive else base.iterdir()
    return [
        {"path": p.relative_to(root).as_posix(), "bytes": p.stat().st_size}
        for p in sorted(found)
        if p.is_file() and p.name not in skip
    ]


# ----------------------------------------------------------------------------------------- students
def write_student(model: Any, tokenizer: Any, out_root: Path, manifest: dict[str, Any], save_dtype: str) -> None:
    """A trained student: atomically replace ``out_root`` with ``hf/`` (the weights in ``save_dtype``,
    safetensors) + ``manifest.json`` + its card."""
    import torch

    with atomic_folder(out_root) as tmp:
        (tmp / HF_DIR).mkdir()
        model = model.to(getattr(torch, save_dtype))
        model.config.use_cache = True
        model.save_pretrained(tmp / HF_DIR, safe_serialization=True)
        tokenizer.save_pretrained(tmp / HF_DIR)
        _finish_student(tmp, manifest)


def copy_student(src_hf: Path, out_root: Path, manifest: dict[str, Any], card: str | None = None) -> None:
    """A pass-through stage (ablation modes): the starting model's ``hf/`` unchanged, a new manifest and card
    (``card``: the final card text, default :func:`student_card` of ``manifest``)."""
    with atomic_folder(out_root) as tmp:
        shutil.copytree(src_hf, tmp / HF_DIR, ignore=shutil.ignore_patterns(CARD))
        _finish_student(tmp, manifest, card)


def _finish_student(tmp: Path, manifest: dict[str, Any], card: str | None = None) -> None:
    """Card and manifest into the partial folder ``tmp`` (the caller swaps it into place).

    ``card`` replaces the default card after the manifest is written: the manifest lists the default card."""
    hf = tmp / HF_DIR
    write_text(hf / CARD, student_card(manifest))
    manifest = {**manifest, "hf_dir": HF_DIR, "gguf": None, "files": list_files(tmp, HF_DIR, recursive=False)}
    write_manifest(tmp, manifest)
    if card is not None:
        write_text(hf / CARD, card)


def student_card(manifest: Mapping[str, Any], sentibench_md: str | None = None) -> str:
    """The card (``hf/README.md``) of a student a training stage wrote, from its manifest."""
    hp = manifest.get("hparams") or {}
    data = manifest.get("data") or {}
    lines = [
        "---",
        "library_name: transformers",
        "pipeline_tag: text-generation",
        "tags: [sentiment-analysis, distillation, sentidistill]",
        "---",
        f"# {manifest['name']}",
        "",
        "Student model of *Targeted Distillation for Sentiment Analysis* (Zhang et al., EMNLP 2025), "
        f"built by the sentidistill DVC pipeline (stage `{manifest['stage']}`, mode `{manifest['mode']}`).",
        "",
        f"- base model: `{manifest['base_model']}` (started from `{manifest['started_from']}`)",
        f"- teacher: `{manifest.get('teacher')}`",
        f"- trained: {manifest['trained']}; profile `{manifest.get('profile')}`",
        f"- git revision: `{manifest['git_revision']}`",
        *([f"- precision: {p['used']} ({p['requested']}: {p['reason']})"] if (p := manifest.get("precision")) else []),
        f"- training rows: {data.get('rows_trained', data.get('rows_used', 0))} (corpus rows used "
        + ", ".join(f"{c}: {s['used']} of {s['rows']}" for c, s in (data.get("corpora") or {}).items())
        + ")",
        f"- lineage: {' -> '.join(manifest.get('lineage', []))}",
        "",
        "## Training parameters",
        "",
        "| parameter | value |",
        "|---|---|",
        *[f"| {k} | {v} |" for k, v in hp.items()],
        "",
        "## SentiBench",
        "",
        SENTIBENCH_MARK,
        sentibench_md or "Not evaluated yet: `dvc repro sentibench_report` (see reports/sentibench.md).",
        "",
    ]
    return "\n".join(lines)


# ----------------------------------------------------------------------------------------- identity
def model_identity(hf_dir: Path) -> str:
    """Cheap identity of a starting model, for the training checkpoint fingerprint (the folder a run resumes
    from, :func:`sentidistill.training.sft.fingerprint`): the sha256 of its manifest's bytes, or, for a folder
    without one, of its files' names and sizes. No weight is read."""
    root = hf_dir.parent
    if (root / MANIFEST).is_file():
        return hashlib.sha256((root / MANIFEST).read_bytes()).hexdigest()
    parts = sorted((p.name, p.stat().st_size) for p in hf_dir.iterdir() if p.is_file())
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()


def files_digest(manifest: Mapping[str, Any]) -> str:
    """Weight fingerprint of a materialized model without a GGUF sha256, for the teacher's cache keys
    (:mod:`sentidistill.teacher.identity`): the sha256 of its manifest's file list (paths and sizes)."""
    return hashlib.sha256(json.dumps(manifest.get("files", []), sort_keys=True).encode()).hexdigest()


# files of a model folder that do not change its outputs (the card carries results)
_NOT_WEIGHTS = frozenset({CARD, MANIFEST})
_digests: dict[tuple[str, tuple[tuple[str, int, int], ...]], str] = {}


def weights_digest(model: str | Path) -> str | None:
    """sha256 of what a local model *is*, for the engines' identities (evaluation cache keys that must change
    when a model is retrained in place at the same path): a GGUF file's own sha256, or for a folder a sha256
    over every file but its card and manifest (name, size, sha256). ``None`` for a hub id (its name is all
    we know). Memoized per (path, sizes, mtimes)."""
    root = Path(model)
    if not root.exists():
        return None
    if root.is_file():
        files = {root.name: root}
    else:
        files = {
            str(p.relative_to(root)): p
            for p in sorted(root.rglob("*"))
            if p.is_file() and p.name not in _NOT_WEIGHTS and ".cache" not in p.relative_to(root).parts
        }
    stats = {rel: p.stat() for rel, p in files.items()}
    key = (str(root.resolve()), tuple((rel, st.st_size, st.st_mtime_ns) for rel, st in stats.items()))
    if key not in _digests:
        if root.is_file():
            _digests[key] = sha256_file(root)
        else:
            h = hashlib.sha256()
            for rel, p in files.items():
                h.update(json.dumps([rel, stats[rel].st_size, sha256_file(p)]).encode())
            _digests[key] = h.hexdigest()
    return _digests[key]
