"""GGUF export with llama.cpp's own tools, for llama.cpp / Ollama / LM Studio users.

* ``convert_hf_to_gguf.py`` -- llama.cpp's converter, taken from the llama-cpp-python source
  release that matches the installed ``llama_cpp`` (the converter and its ``gguf-py`` are
  vendored there; PyPI has no wheel of them). Fetched once with ``pip download`` into
  ``~/.cache/sentidistill/llama.cpp/<version>/``, or taken from a llama.cpp checkout named by
  ``SENTIDISTILL_LLAMACPP_DIR`` (offline machines).
* ``llama_model_quantize`` -- libllama's quantizer, through llama-cpp-python's bindings.

Nothing here converts tensors itself; it runs those two and writes an Ollama ``Modelfile``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from sentidistill.io import atomic_folder, atomic_path, write_text
from sentidistill.log import get_logger
from sentidistill.params import StrictModel

log = get_logger(__name__)

CONVERTER_ENV = "SENTIDISTILL_LLAMACPP_DIR"
# per user, like pip's and the hub's caches: every checkout (and the tests' throw-away repos)
# shares one fetched converter
CONVERTER_CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "sentidistill" / "llama.cpp"
CONVERTER_SCRIPT = "convert_hf_to_gguf.py"
# what the converter imports besides its own script (paths inside llama.cpp's tree)
CONVERTER_PARTS = (CONVERTER_SCRIPT, "conversion/", "gguf-py/")
SDIST_PREFIX = "vendor/llama.cpp/"
MODELFILE = "Modelfile"

# converter output types (no quantization) and libllama's quantization types by llama.cpp's names
FullType = Literal["f32", "f16", "bf16"]
QUANT_FTYPES = {
    "q8_0": "LLAMA_FTYPE_MOSTLY_Q8_0",
    "q6_k": "LLAMA_FTYPE_MOSTLY_Q6_K",
    "q5_k_m": "LLAMA_FTYPE_MOSTLY_Q5_K_M",
    "q4_k_m": "LLAMA_FTYPE_MOSTLY_Q4_K_M",
    "q4_0": "LLAMA_FTYPE_MOSTLY_Q4_0",
}
QuantType = Literal["q8_0", "q6_k", "q5_k_m", "q4_k_m", "q4_0"]


class GGUFError(RuntimeError):
    """The converter could not be found/fetched, or conversion/quantization failed."""


class GGUFParams(StrictModel):
    """``export.gguf`` in params.yaml."""

    enabled: bool = True
    full: FullType = Field("f16", description="the converter's unquantized output type")
    quantized: list[QuantType] = Field(default_factory=lambda: ["q8_0", "q4_k_m"])
    # the variant the Ollama Modelfile points at (the full one or one of ``quantized``)
    ollama_variant: str = "q8_0"
    # Ollama context window; SentiBench's 4-shot IMDb/Yelp2 prompts are ~1.5K tokens
    ollama_num_ctx: int = Field(4096, ge=256)
    ollama_num_predict: int = Field(16, ge=1)


def llama_cpp_version() -> str:
    import llama_cpp

    return llama_cpp.__version__


def converter_dir(cache: Path = CONVERTER_CACHE) -> Path:
    """A folder with ``convert_hf_to_gguf.py``, ``conversion/`` and ``gguf-py/``."""
    if env := os.environ.get(CONVERTER_ENV):
        d = Path(env)
        if not (d / CONVERTER_SCRIPT).is_file():
            raise GGUFError(f"{CONVERTER_ENV}={env} has no {CONVERTER_SCRIPT}: point it at a llama.cpp checkout")
        return d
    d = cache / llama_cpp_version()
    if not (d / CONVERTER_SCRIPT).is_file():
        fetch_converter(llama_cpp_version(), d)
    return d


def fetch_converter(version: str, dest: Path) -> None:
    """llama.cpp's converter from the llama-cpp-python ``version`` source release (PyPI)."""
    log.info("fetching llama.cpp's converter from the llama-cpp-python==%s source release (pip download)", version)
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--quiet",
            "--no-deps",
            "--no-binary",
            ":all:",
            f"llama-cpp-python=={version}",
            "-d",
            tmp,
        ]
        done = subprocess.run(cmd, capture_output=True, text=True)
        sdists = sorted(Path(tmp).glob("*.tar.gz"))
        if done.returncode != 0 or not sdists:
            raise GGUFError(
                f"could not download llama-cpp-python=={version}'s source release "
                f"({done.stderr.strip().splitlines()[-1:] or 'no file'}): without a package "
                f"index, set {CONVERTER_ENV} to a llama.cpp checkout"
            )
        with tarfile.open(sdists[0], mode="r:gz") as tar, atomic_folder(dest) as out:
            members = []
            for m in tar.getmembers():
                _, _, inner = m.name.partition(SDIST_PREFIX)
                if (
                    inner
                    and any(inner == p or inner.startswith(p) for p in CONVERTER_PARTS)
                    and (m.isfile() or m.isdir())
                ):
                    m.name = inner
                    members.append(m)
            tar.extractall(out, members=members, filter="data")
            if not (out / CONVERTER_SCRIPT).is_file():
                raise GGUFError(f"{sdists[0].name} has no {SDIST_PREFIX}{CONVERTER_SCRIPT}")


def convert(hf_dir: Path, out: Path, outtype: str, converter: Path | None = None) -> Path:
    """``hf_dir`` (a transformers folder) -> ``out`` (GGUF, unquantized ``outtype``), atomically."""
    conv = converter or converter_dir()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(conv / "gguf-py"), os.environ.get("PYTHONPATH", "")])}
    with atomic_path(out) as tmp:
        cmd = [sys.executable, str(conv / CONVERTER_SCRIPT), str(hf_dir), "--outfile", str(tmp), "--outtype", outtype]
        done = subprocess.run(cmd, capture_output=True, text=True, env=env)
        if done.returncode != 0:
            tail = "\n".join(done.stderr.strip().splitlines()[-5:])
            raise GGUFError(f"convert_hf_to_gguf.py failed on {hf_dir} (exit {done.returncode}):\n{tail}")
    return out


def quantize(src: Path, out: Path, qtype: str, threads: int | None = None) -> Path:
    """``src`` (GGUF) quantized to ``qtype`` by libllama's ``llama_model_quantize``, atomically."""
    import llama_cpp

    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = getattr(llama_cpp, QUANT_FTYPES[qtype])
    params.nthread = threads or (os.cpu_count() or 1)
    # libllama prints a line per tensor to the C stderr: kept in a temp file, its tail shown on failure
    with tempfile.TemporaryFile(mode="w+b") as err, atomic_path(out) as tmp:
        sys.stderr.flush()
        saved = os.dup(2)
        os.dup2(err.fileno(), 2)
        try:
            rc = llama_cpp.llama_model_quantize(str(src).encode(), str(tmp).encode(), params)
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        err.seek(0)
        lines = err.read().decode("utf-8", "replace").splitlines()
        if rc != 0:
            raise GGUFError(f"llama_model_quantize({src.name} -> {qtype}) returned {rc}:\n" + "\n".join(lines[-5:]))
        fallback = [ln for ln in lines if "required fallback quantization" in ln]
        if fallback:
            log.info("%s: %s", qtype, fallback[-1].split("WARNING:")[-1].strip())
    return out


def modelfile(gguf_name: str, *, chat_template: bool, num_ctx: int, num_predict: int) -> str:
    """An Ollama ``Modelfile`` for a student: raw prompts when it was trained without a chat
    template (SentiBench's format, read the label after ``Label:``), greedy, one line."""
    lines = [f"FROM ./{gguf_name}", ""]
    if chat_template:
        lines += ["# trained with its chat template: Ollama applies the one stored in the GGUF"]
    else:
        lines += [
            "# trained and evaluated without a chat template: the prompt goes in as written",
            "# (few-shot, ending in 'Label:'); the answer is the first line",
            'TEMPLATE """{{ .Prompt }}"""',
        ]
    lines += [
        "PARAMETER temperature 0",
        'PARAMETER stop "\\n"',
        f"PARAMETER num_ctx {num_ctx}",
        f"PARAMETER num_predict {num_predict}",
        "",
    ]
    return "\n".join(lines)


def gguf_name(model_name: str, variant: str) -> str:
    return f"{model_name}-{variant}.gguf"


def export_gguf(
    hf_dir: Path, out_dir: Path, model_name: str, params: GGUFParams, *, chat_template: bool, threads: int | None = None
) -> dict[str, Any]:
    """The full-precision GGUF, its quantized variants and a Modelfile into ``out_dir``;
    returns the manifest entry (file names, sizes, types, tool versions)."""
    if params.ollama_variant not in (params.full, *params.quantized):
        raise GGUFError(
            f"export.gguf.ollama_variant {params.ollama_variant!r} is not exported "
            f"(full {params.full!r}, quantized {params.quantized})"
        )
    out_dir.mkdir(parents=True, exist_ok=True)
    full = convert(hf_dir, out_dir / gguf_name(model_name, params.full), params.full)
    files = {params.full: full}
    for q in params.quantized:
        log.info("quantizing %s -> %s", full.name, q)
        files[q] = quantize(full, out_dir / gguf_name(model_name, q), q, threads)
    write_text(
        out_dir / MODELFILE,
        modelfile(
            files[params.ollama_variant].name,
            chat_template=chat_template,
            num_ctx=params.ollama_num_ctx,
            num_predict=params.ollama_num_predict,
        ),
    )
    return {
        "files": {v: {"path": p.name, "bytes": p.stat().st_size} for v, p in files.items()},
        "full": params.full,
        "quantized": list(params.quantized),
        "modelfile": MODELFILE,
        "ollama_variant": params.ollama_variant,
        "llama_cpp_python": llama_cpp_version(),
    }
